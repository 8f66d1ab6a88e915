// cap-start: start a live capture that runs on its own, with a record beside its file (see cap-start(1)).
#include "capture/tool/pull_tool.hpp"
#include "capture/tool/start_tool.hpp"

int main(int argc, char** argv) {
    capture::cli::tool tool("cap-start",
                            "Start a live capture that runs on its own, with a record beside its file.",
                            "[OPTION]... -e EXPRESSION | ANALYST [DESCRIPTION] EXPRESSION...");
    capture::declare_start_options(tool);
    std::vector<std::string> args = capture::join_time_arguments(argc, argv);  // --since -2h
    std::vector<char*> pointers;
    for (auto& a : args) pointers.push_back(a.data());
    pointers.push_back(nullptr);
    return tool.run(static_cast<int>(args.size()), pointers.data(), capture::run_start);
}
