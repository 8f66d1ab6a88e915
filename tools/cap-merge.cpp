// cap-merge: merge capture files in timestamp order (see cap-merge(1)).
#include "capture/tool/merge_tool.hpp"

int main(int argc, char** argv) {
    capture::cli::tool tool("cap-merge", "Merge capture files into one, packets in timestamp order.",
                            "[OPTION]... [FILE]...");
    tool.takes_operands("FILE");
    capture::add_merge_options(tool);
    return tool.run(argc, argv, capture::run_merge);
}
