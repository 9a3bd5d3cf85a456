#!/bin/bash
# shoot.sh NAME [WIDTH HEIGHT]: the tmux pane `shot` as NAME.png (ANSI → HTML with aha →
# headless Chromium), in the current directory.
set -euo pipefail
name=$1
tmux capture-pane -t shot -e -p > "$name.ansi"
aha --black --title "$name" < "$name.ansi" > "$name.html"
sed -i 's#<head>#<head><style>body{margin:0;padding:10px;background:\#000} pre{font-family:"Noto Sans Mono CJK SC",monospace;font-size:15px;line-height:1.25;margin:0}</style>#' "$name.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size="${2:-1240},${3:-700}" --screenshot="$PWD/$name.png" "file://$PWD/$name.html"
rm "$name.ansi" "$name.html"
