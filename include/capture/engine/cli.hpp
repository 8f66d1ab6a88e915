// The shared runner every tool's main hands over to (STYLE.md 1).
//
// It declares the options every tool spells the same way, parses the
// command line and the configuration, answers --help and --version, turns
// exceptions into "cap-xxx: message" and an exit code, and checks that
// standard output was really written before it reports success.
#pragma once

#include "capture/text/audit.hpp"
#include "capture/engine/config.hpp"
#include "capture/sys/error.hpp"
#include "capture/text/output.hpp"
#include "capture/sys/parallel.hpp"
#include "capture/text/record.hpp"
#include "capture/sys/privilege.hpp"

#include <boost/program_options.hpp>

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <functional>
#include <optional>
#include <ostream>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#ifndef CAPTURE_VERSION
#define CAPTURE_VERSION "0.1.0"
#endif

namespace capture::cli {

namespace po = boost::program_options;

/// The lock every context's warn() takes: one for the process, since all
/// of them may share std::cerr. Throws nothing.
inline std::mutex& warn_mutex() noexcept {
    static std::mutex m;
    return m;
}

/// What a tool's body gets: its parsed options, settings and streams.
struct context {
    std::string tool;                  ///< the tool's name, for messages
    po::variables_map vm;              ///< every option, parsed
    settings config;                   ///< configuration after precedence
    output_mode output = output_mode::records;
    bool verbose = false;
    std::vector<std::string> operands; ///< the positional arguments
    std::vector<std::string> command_line; ///< argv as given (for manifests)
    std::istream* in = &std::cin;
    std::ostream* out = &std::cout;
    std::ostream* err = &std::cerr;
    audit_log audit{audit_settings{}, "capture"};
    privilege caller;                  ///< who called, and whether this process has more privilege
    /// The action a refusal or an early failure of this run is logged as
    /// (tool::audits); empty: none is. A body may clear it (a dry run).
    std::string action;
    /// What the body knows of its action so far (analyst, expr ...): the
    /// fields of that line, before the reason.
    record attempt;

    /// Says "tool: message" on stderr, as one line safe for a terminal
    /// (a file name or a line of input may hold any byte).
    void warn(const std::string& message) const {
        // One write of the whole line, under one lock for the process: the
        // reader and the workers of a pool warn at the same moment, and
        // std::cerr writes each << at once, so pieces of two lines mixed.
        const std::string line = tool + ": " + terminal_safe(message) + '\n';
        std::lock_guard<std::mutex> lock(warn_mutex());
        *err << line;
    }

    /// Writes one audit line; a failure to log is said on stderr, never
    /// lost: the first line lost at once, whole and with the reason (and
    /// again when the reason changes); how many in all when the tool ends.
    void log(std::string_view action_name, std::string_view outcome, const record& details = {}) const {
        if (action_name == action && outcome != "started") action_logged = true;
        if (auto miss = audit.try_log(action_name, outcome, details); miss && miss->news) warn(miss->text);
        if (auto miss = audit.log_chained(action_name, outcome, details); miss && miss->news) warn(miss->text);
    }

    /// Logs the end of the action the body did not log itself (one that
    /// throws before it logs its outcome): outcome (refused, failed), the
    /// attempt's fields and the reason. Nothing when no action is audited.
    void log_unfinished(std::string_view outcome, const std::string& reason) const {
        if (action.empty() || action_logged) return;
        record details = attempt;
        details.set("reason", reason);
        log(action, outcome, details);
    }

    mutable bool action_logged = false;  ///< its outcome was logged (only the main thread logs it)
};

/// The action word of a tool's audit lines: "start" for cap-start, "list"
/// for cap-ls.
inline std::string action_of(const std::string& tool) {
    std::string a = tool.rfind("cap-", 0) == 0 ? tool.substr(4) : tool;
    return a == "ls" ? "list" : a;
}

/// Logs a refusal (what was refused, with what value, why; who asked is
/// in every audit line) and says a failure to log on stderr.
inline void log_refusal(const context& ctx, const refusal& r) {
    record details{{"refused", r.refused()}};
    if (!r.value().empty()) details.set("value", r.value());
    details.set("reason", r.reason());
    audit_log log(r.audit(), ctx.tool);
    if (auto failure = log.log(action_of(ctx.tool), "refused", details)) ctx.warn(*failure);
    // A refusal belongs in the tamper-evident log as much as in syslog.
    if (auto miss = log.log_chained(action_of(ctx.tool), "refused", details)) ctx.warn(miss->text);
}

/// True when the tool may write the file path for its caller: always
/// when not elevated; elevated, inside the configured capture directories
/// or where the caller could write on their own (its directory, and the
/// file itself when it exists). Throws nothing.
inline bool caller_may_write(const context& ctx, const std::string& path) {
    const privilege& p = ctx.caller;
    if (!p.elevated) return true;
    std::string parent = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
    if (parent.empty()) parent = "/";
    bool ok = false;
    try {
        std::vector<std::string> dirs{ctx.config.dir};
        dirs.insert(dirs.end(), ctx.config.capture_dirs.begin(), ctx.config.capture_dirs.end());
        ok = path_within(parent, dirs);
    } catch (const error&) {
        ok = false;
    }
    struct stat st {};
    bool exists = ::lstat(path.c_str(), &st) == 0;
    return ok || (caller_may_access(p, parent, W_OK | X_OK) && (!exists || caller_may_access(p, path, W_OK)));
}

/// Refuses the file path the caller named with what (an option), for
/// reason: the refusal is logged here, as the action's own (so that the
/// runner does not log it again), and thrown.
[[noreturn]] inline void refuse_callers_path(const context& ctx, const std::string& what, const std::string& path,
                                             const std::string& reason) {
    refusal r(what, path, reason, ctx.config.audit);
    record details = ctx.attempt;
    details.set("refused", r.refused());
    details.set("value", r.value());
    details.set("reason", r.reason());
    ctx.log(ctx.action.empty() ? action_of(ctx.tool) : ctx.action, "refused", details);
    throw r;
}

/// Checks caller_may_write for the file path the caller named (what:
/// "--write"). Throws refusal (logged here) when it may not be written.
inline void check_caller_may_write(const context& ctx, const std::string& what, const std::string& path) {
    if (caller_may_write(ctx, path)) return;
    refuse_callers_path(ctx, what, path,
                        "the caller (" + ctx.caller.caller +
                            ") could not write there on their own, and it is not in the capture directory " +
                            ctx.config.dir);
}

/// Elevated, the file path the caller named (what: "--from-alert"), read
/// a line at a time with its lines quoted in messages, must be one the
/// caller could read on their own. Throws refusal (logged here) when not.
inline void check_caller_may_read(const context& ctx, const std::string& what, const std::string& path) {
    if (!ctx.caller.elevated || caller_may_access(ctx.caller, path, R_OK)) return;
    refuse_callers_path(ctx, what, path, "the caller (" + ctx.caller.caller + ") could not read it on their own");
}

/// How many jobs the open-file limit leaves room for: a job holds at most
/// two descriptors at once (the file it reads, a temporary it writes),
/// beside a reserve of 16 for the rest (standard streams, syslog, the
/// directories scanned). At least 1. Throws nothing.
inline unsigned jobs_within_file_limit() {
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1024;
    const rlim_t room = rl.rlim_cur > 18 ? (rl.rlim_cur - 16) / 2 : 1;
    return static_cast<unsigned>(std::min<rlim_t>(room, 1024));
}

/// The value of --jobs: 0 or absent means the cores this process may use;
/// never more than the open-file limit leaves room for, so that a low
/// `ulimit -n` makes a tool slower, never fail files for want of a
/// descriptor. Throws usage_error outside 0 to 1024.
inline unsigned jobs(const context& ctx) {
    unsigned wanted = available_cores();
    if (ctx.vm.count("jobs")) {
        int n = ctx.vm["jobs"].as<int>();
        if (n < 0 || n > 1024) throw usage_error("--jobs: " + std::to_string(n) + " is not between 0 and 1024");
        if (n > 0) wanted = static_cast<unsigned>(n);
    }
    return std::min(wanted, jobs_within_file_limit());
}

/// Whether --vlan is wanted: --vlan, else not --no-vlan and the vlan
/// configuration key. Throws usage_error when both options are given.
inline bool vlan_wanted(const context& ctx) {
    if (ctx.vm.count("vlan") && ctx.vm.count("no-vlan")) throw usage_error("--vlan and --no-vlan exclude each other");
    return ctx.vm.count("vlan") || (ctx.config.vlan && !ctx.vm.count("no-vlan"));
}

/// Calls each(record) for every input: the operands as paths ("-" reads
/// records from stdin), or, with no operands, the records on stdin. A
/// malformed line is reported with its line number and skipped. Returns
/// false when any line was malformed.
inline bool for_each_input(const context& ctx, const std::function<void(record&)>& each) {
    bool all_good = true;
    auto read_stream = [&](std::istream& in) {
        record_reader reader(in, "standard input");
        for (;;) {
            record r;
            try {
                if (!reader.next(r)) break;
            } catch (const record_error& e) {
                ctx.warn(e.what());
                all_good = false;
                continue;
            }
            each(r);
        }
    };
    if (ctx.operands.empty()) {
        read_stream(*ctx.in);
        return all_good;
    }
    for (const auto& operand : ctx.operands) {
        if (operand == "-") {
            read_stream(*ctx.in);
        } else {
            record r;
            r.set("file", operand);
            each(r);
        }
    }
    return all_good;
}

/// One tool: its name, what it does, its options, and how it runs.
class tool {
public:
    /// synopsis is what follows the name in "Usage:" ("[OPTION]... [FILE]...").
    tool(std::string name, std::string summary, std::string synopsis)
        : name_(std::move(name)), summary_(std::move(summary)), synopsis_(std::move(synopsis)),
          options_("Options") {}

    /// Adds the tool's own options (after the common ones in --help).
    po::options_description_easy_init add_options() { return options_.add_options(); }

    /// Positional arguments become context::operands.
    tool& takes_operands(std::string what) {
        operands_name_ = std::move(what);
        return *this;
    }

    /// Adds -j/--jobs N: how many inputs are worked on at once (default:
    /// the cores this process may use). Read it with jobs(ctx).
    tool& takes_jobs(const std::string& what) {
        options_.add_options()("jobs,j", po::value<int>()->value_name("N")->default_value(
                                             static_cast<int>(available_cores())),
                               (what + " at once (default: the number of cores)").c_str());
        return *this;
    }

    /// The action this tool's audit line names (start, pull, merge):
    /// when the body throws before it has logged the action's outcome, the
    /// runner logs it, "refused" for a usage_error (the user's mistake:
    /// a bad expression, bad options), "failed" for any other error, with
    /// context::attempt's fields and the reason. A mistake found while the
    /// command line itself is parsed is not logged: the configuration,
    /// which says where syslog is, is not read yet.
    tool& audits(std::string action) {
        action_ = std::move(action);
        return *this;
    }

    /// Parses argv and runs body; returns the exit code for main.
    int run(int argc, char** argv, const std::function<int(context&)>& body) {
        // `cap-ls | head` must end quietly, as coreutils filters do.
        std::signal(SIGPIPE, SIG_DFL);
        // Output for a person goes through a filter that makes every field
        // shown safe for a terminal; it outlives ctx, which points at it.
        std::optional<terminal_safe_buf> safe_buf;
        std::optional<std::ostream> safe_out;
        context ctx;
        ctx.tool = name_;
        ctx.command_line.assign(argv, argv + argc);
        int status;
        try {
            if (!parse(argc, argv, ctx)) return finish(ctx, exit_ok);
            ctx.action = action_;
            if (ctx.output == output_mode::human && ctx.out == &std::cout) {
                safe_buf.emplace(std::cout.rdbuf());
                safe_out.emplace(&*safe_buf);
                ctx.out = &*safe_out;
            }
            status = body(ctx);
        } catch (const usage_error& e) {
            ctx.warn(e.what());
            *ctx.err << "Try '" << name_ << " --help' for more information.\n";
            ctx.log_unfinished("refused", e.what());
            say_unlogged(ctx);
            return exit_usage;
        } catch (const std::exception& e) {
            ctx.warn(e.what());
            ctx.log_unfinished("failed", e.what());
            status = exit_failure;
        }
        return finish(ctx, status);
    }

    /// Every long and short option spelling, one per line (for completions
    /// and the tests that keep man pages and completions in line).
    std::vector<std::string> option_spellings() {
        std::vector<std::string> names;
        po::options_description all = visible();
        for (const auto& opt : all.options()) {
            std::string shorts = opt->canonical_display_name(po::command_line_style::allow_dash_for_short);
            std::string longs = opt->canonical_display_name(po::command_line_style::allow_long);
            // A long-only option displays as its bare name here; keep real "-x" forms only.
            if (shorts.size() == 2 && shorts[0] == '-' && shorts[1] != '-') names.push_back(shorts);
            names.push_back(longs);
        }
        return names;
    }

private:
    po::options_description common() const {
        po::options_description c("Common options");
        c.add_options()
            ("help,h", "show this help and exit")
            ("version", "show the version and exit")
            ("config", po::value<std::string>()->value_name("FILE"), "configuration file (default /etc/capture.conf)")
            ("dir", po::value<std::string>()->value_name("DIR"), "capture directory")
            ("json", "write records as JSON Lines")
            ("records", "write records even on a terminal")
            ("human", "write for a person even in a pipe")
            ("verbose,v", "say more")
            ("no-syslog", "do not write audit lines to syslog");
        return c;
    }

    po::options_description visible() const {
        po::options_description all;
        all.add(options_).add(common());
        return all;
    }

    // Returns false when the run is already complete (--help, --version).
    bool parse(int argc, char** argv, context& ctx) {
        po::options_description hidden;
        hidden.add_options()
            ("list-options", "")
            ("operand", po::value<std::vector<std::string>>(), "");
        po::options_description all = visible();
        all.add(hidden);
        po::positional_options_description positional;
        positional.add("operand", operands_name_.empty() ? 0 : -1);

        try {
            po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), ctx.vm);
            po::notify(ctx.vm);
        } catch (const po::error& e) {
            std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);  // as the parser skips argv[0]
            bool percent = std::any_of(args.begin(), args.end(),
                                       [](const std::string& a) { return a.find('%') != std::string::npos; });
            throw usage_error(detail::boost_message(e, percent, [&] {
                std::vector<std::string> hidden;
                for (const auto& a : args) hidden.push_back(detail::percent_hidden(a));
                po::variables_map scratch;
                po::store(po::command_line_parser(hidden).options(all).positional(positional).run(), scratch);
                po::notify(scratch);
            }));
        }
        if (ctx.vm.count("help")) {
            *ctx.out << "Usage: " << name_ << " " << synopsis_ << "\n" << summary_ << "\n\n"
                     << visible() << "\nSee " << name_ << "(1) for the whole story.\n";
            return false;
        }
        if (ctx.vm.count("version")) {
            *ctx.out << name_ << " (capture) " << CAPTURE_VERSION << "\n";
            return false;
        }
        if (ctx.vm.count("list-options")) {
            for (const auto& n : option_spellings()) *ctx.out << n << '\n';
            return false;
        }
        if (ctx.vm.count("operand")) ctx.operands = ctx.vm["operand"].as<std::vector<std::string>>();

        caller_choices asked;
        if (ctx.vm.count("config")) asked.config = ctx.vm["config"].as<std::string>();
        if (ctx.vm.count("dir")) asked.dir = ctx.vm["dir"].as<std::string>();
        if (asked.dir.empty() && ctx.vm.count("dir")) throw usage_error("--dir: empty name");
        asked.no_syslog = ctx.vm.count("no-syslog") > 0;
        ctx.caller = current_privilege();
        try {
            ctx.config = load_settings(asked, ctx.caller);
        } catch (const refusal& r) {
            log_refusal(ctx, r);
            throw;
        }
        ctx.verbose = ctx.vm.count("verbose") > 0;
        ctx.output = choose_output_mode(ctx.vm.count("json"), ctx.vm.count("records"), ctx.vm.count("human"),
                                        ::isatty(STDOUT_FILENO) == 1);
        ctx.audit = audit_log(ctx.config.audit, name_);
        return true;
    }

    // A tool whose output never reached its destination has failed
    // (coreutils checks every tool against /dev/full).
    int finish(const context& ctx, int status) {
        say_unlogged(ctx);
        ctx.out->flush();
        if (!*ctx.out || std::fflush(stdout) != 0 || std::ferror(stdout)) {
            int err = errno;
            ctx.warn("write error: " + errno_text(err ? err : EIO));
            return status == exit_ok ? exit_failure : status;
        }
        return status;
    }

    // The count of audit lines lost, once at the end (the first was said when lost).
    static void say_unlogged(const context& ctx) {
        if (auto summary = ctx.audit.unlogged_summary()) ctx.warn(*summary);
        if (auto summary = ctx.audit.unchained_summary()) ctx.warn(*summary);
    }

    std::string name_;
    std::string summary_;
    std::string synopsis_;
    std::string operands_name_;
    std::string action_;
    po::options_description options_;
};

}  // namespace capture::cli
