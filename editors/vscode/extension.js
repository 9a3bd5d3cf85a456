// Starts `policyengine lsp` (the language server of the policyengine package) for *.policy
// files. The command is the setting `policyengine.command` (default: policyengine on PATH).
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace
    .getConfiguration("policyengine")
    .get("command", ["policyengine", "lsp"]);
  const server = { command, args, transport: TransportKind.stdio };
  client = new LanguageClient(
    "policyengine",
    "policyengine",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "policy" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
