// cap-ls: list running captures and pulls (--all: finished ones too; --report: totals) (see cap-ls(1)).
#include "capture/tool/ls_tool.hpp"

int main(int argc, char** argv) {
    capture::cli::tool tool("cap-ls",
                            "List running captures and pulls (--all: finished ones too; --report: totals).",
                            "[OPTION]... [--verify-audit [FILE]...]");
    capture::declare_ls_options(tool);
    return tool.run(argc, argv, capture::run_ls);
}
