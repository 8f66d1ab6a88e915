// cap-pull: pull traffic out of the rolling archive (see cap-pull(1)).
#include "capture/tool/fleet_pull_tool.hpp"
#include "capture/tool/pull_alerts.hpp"

int main(int argc, char** argv) {
    capture::cli::tool tool("cap-pull", "Pull the traffic an expression names out of the rolling archive, for a time window.",
                            "-a ANALYST -d DESCRIPTION -e EXPRESSION [-r DIR]... [--since T] [--until T] [-w OUT] [--sensor SENSOR]...");
    capture::declare_pull_options(tool);
    capture::declare_alert_pull_options(tool);
    capture::declare_fleet_pull_options(tool);
    std::vector<std::string> args = capture::join_time_arguments(argc, argv);
    std::vector<char*> pointers;
    for (auto& a : args) pointers.push_back(a.data());
    pointers.push_back(nullptr);
    return tool.run(static_cast<int>(args.size()), pointers.data(), [](capture::cli::context& ctx) {
        return ctx.vm.count("sensor") ? capture::run_fleet_pull_tool(ctx) : capture::run_pull_or_alerts(ctx);
    });
}
