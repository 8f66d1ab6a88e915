// cap-stop: stop captures and pulls named by id, by analyst, or by records on stdin (see cap-stop(1)).
#include "capture/tool/stop_tool.hpp"

int main(int argc, char** argv) {
    capture::cli::tool tool("cap-stop",
                            "Stop captures and pulls named by id, by analyst, or by records on stdin.",
                            "[OPTION]... [ID]...");
    capture::declare_stop_options(tool);
    return tool.run(argc, argv, capture::run_stop);
}
