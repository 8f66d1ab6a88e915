// cap-index: index capture files so that cap-pull reads only what may match (cap-index(1)).
#include "capture/tool/index_tool.hpp"

int main(int argc, char** argv) {
    capture::cli::tool tool("cap-index", "Index capture files (hosts, ports, protocols) so that pulls read only what may match.",
                            "[OPTION]... [FILE]...");
    capture::declare_index_options(tool);
    return tool.run(argc, argv, capture::run_index_tool);
}
