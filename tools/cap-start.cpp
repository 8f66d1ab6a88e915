// cap-start: start a live capture that runs on its own, with a record beside its file (see cap-start(1)).
#include "capture/start_tool.hpp"

int main(int argc, char** argv) {
    capture::cli::tool tool("cap-start",
                            "Start a live capture that runs on its own, with a record beside its file.",
                            "[OPTION]... -e EXPRESSION | ANALYST [DESCRIPTION] EXPRESSION...");
    capture::declare_start_options(tool);
    return tool.run(argc, argv, capture::run_start);
}
