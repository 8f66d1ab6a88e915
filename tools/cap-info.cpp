// cap-info: describe capture files (see cap-info(1)).
#include "capture/tool/info_tool.hpp"

int main(int argc, char** argv) {
    capture::cli::tool tool("cap-info", "Describe capture files: packets, sizes, times, rates, link types.",
                            "[OPTION]... [FILE]...");
    tool.takes_operands("FILE").takes_jobs("files read");
    return tool.run(argc, argv, capture::run_info);
}
