// cap-info: describe capture files (see cap-info(1)).
#include "capture/tool/info_archive.hpp"

int main(int argc, char** argv) {
    capture::cli::tool tool("cap-info", "Describe capture files: packets, sizes, times, rates, link types.",
                            "[OPTION]... [FILE]...");
    tool.takes_operands("FILE").takes_jobs("files read");
    capture::declare_archive_health_options(tool);
    return tool.run(argc, argv, capture::run_info_or_archive);
}
