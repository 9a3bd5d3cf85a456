-- Neovim (0.7 or later) with its built-in language server client started on *.policy files:
-- the setup the screenshots in docs/authoring.md were taken with (see README.md here).
vim.o.number = true
vim.o.signcolumn = "yes"
vim.cmd("autocmd BufRead,BufNewFile *.policy set filetype=policy")
vim.api.nvim_create_autocmd("FileType", {
  pattern = "policy",
  callback = function(args)
    local id = vim.lsp.start_client({
      name = "policyengine",
      cmd = { "policyengine", "lsp" },
      root_dir = vim.fn.getcwd(),
    })
    vim.lsp.buf_attach_client(args.buf, id)
  end,
})
vim.diagnostic.config({
  virtual_text = { format = function(d) return d.code .. " " .. d.message:gsub("\n.*", "") end },
  float = { format = function(d) return d.code .. " " .. d.message end },
  signs = true,
  underline = true,
})
vim.lsp.handlers["textDocument/hover"] =
  vim.lsp.with(vim.lsp.handlers.hover, { max_width = 90, max_height = 18, border = "rounded" })
-- colours for a 256-colour terminal
vim.cmd("highlight NormalFloat ctermbg=235 ctermfg=252")
vim.cmd("highlight FloatBorder ctermbg=235 ctermfg=244")
vim.cmd("highlight DiagnosticFloatingError ctermbg=235 ctermfg=203")
vim.cmd("highlight DiagnosticVirtualTextError ctermfg=203")
vim.cmd("highlight DiagnosticUnderlineError cterm=underline ctermfg=203")
vim.cmd("highlight QuickFixLine ctermbg=236 ctermfg=NONE cterm=NONE")
