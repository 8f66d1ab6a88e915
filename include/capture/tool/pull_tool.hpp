// cap-pull: pull the traffic an expression names out of the rolling
// archive, for a time window, into one capture (see cap-pull(1)).
//
// Everything that can be refused is refused before anything is written:
// the options, the window, the expression (libpcap's words, exit 2). Then
// the output's final name is taken as a symbolic link to the hidden file
// being written, so analysis can start at once; its record in the capture
// directory carries the progress each second; SIGINT, SIGTERM and SIGHUP
// (cap-stop sends SIGTERM) end the pull within a second with a valid
// capture of what was merged, published under the final name.
#pragma once

#include "capture/tool/manifest_options.hpp"
#include "capture/engine/analyst.hpp"
#include "capture/engine/archive.hpp"
#include "capture/engine/capture_dir.hpp"
#include "capture/sys/atomic_file.hpp"
#include "capture/pcap/bpf.hpp"
#include "capture/pcap/capture_writer.hpp"
#include "capture/engine/cli.hpp"
#include "capture/sys/file_mode.hpp"
#include "capture/text/naming.hpp"
#include "capture/sys/process.hpp"
#include "capture/sys/scoped_signals.hpp"
#include "capture/engine/pull.hpp"
#include "capture/engine/pull_status.hpp"
#include "capture/engine/registry.hpp"
#include "capture/sys/time_format.hpp"
#include "capture/engine/time_window.hpp"
#include "capture/tool/pull_progress.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>
#include <future>
#include <system_error>
#include <vector>

namespace capture {

/// Set by SIGINT, SIGTERM and SIGHUP while a pull runs (lock-free, so a
/// signal handler may store to it).
inline std::atomic<bool> pull_stop_requested{false};

/// The separator between the directories in a pull record's archives key
/// (a newline, written "\n" in the record line).
inline constexpr char archives_separator = '\n';

/// Declares cap-pull's own options on tool.
inline void declare_pull_options(cli::tool& tool) {
    namespace po = boost::program_options;
    tool.takes_operands("EXPRESSION").takes_jobs("files filtered").audits("pull");
    tool.add_options()
        ("analyst,a", po::value<std::string>()->value_name("ANALYST"), "who the pull is for (default: the 'analyst' key, else SUDO_USER, else you)")
        ("description,d", po::value<std::string>()->value_name("TEXT"), "why: a description (default: made from the expression)")
        ("expression,e", po::value<std::string>()->value_name("EXPR"), "the BPF expression of the traffic to pull")
        ("archive,r", po::value<std::vector<std::string>>()->value_name("DIR")->composing(),
         "an archive directory (repeatable; default: the 'archive' configuration key)")
        ("since", po::value<std::string>()->value_name("TIME"), "from TIME on (UTC ISO 8601, @EPOCH, -2h, yesterday)")
        ("until", po::value<std::string>()->value_name("TIME"), "up to, not including, TIME")
        ("write,w", po::value<std::string>()->value_name("OUT"),
         "write to OUT ('-': pcap on standard output) instead of a new file in the capture directory")
        ("format,F", po::value<std::string>()->value_name("FMT"),
         "pcap or pcapng (default: pcap, or pcapng when the files have several link types)")
        ("vlan", "match the expression in 802.1Q-tagged frames too (default: the 'vlan' configuration key)")
        ("no-vlan", "match untagged frames only, whatever the configuration says")
        ("no-index", "scan every file, even those with a fresh index (see cap-index(1))")
        ("index-dir", po::value<std::string>()->value_name("DIR"),
         "look for indexes under DIR, not beside the captures (default: the 'index-dir' configuration key)")
        ("dry-run,n", "say which files would be read, how (index or scan, and why), and how long it would take; read no packets");
    declare_manifest_options(tool, " (default: for pulls into the capture directory)");
}

/// Turns "--since -2h" into "--since=-2h" (and the same for --until), so
/// a relative time is not taken for an option. Throws nothing but std::bad_alloc.
inline std::vector<std::string> join_time_arguments(int argc, char** argv) {
    std::vector<std::string> args;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if ((a == "--since" || a == "--until") && i + 1 < argc && argv[i + 1][0] == '-') {
            args.push_back(a + "=" + argv[++i]);
            continue;
        }
        if (a == "--") {
            for (; i < argc; ++i) args.push_back(argv[i]);
            break;
        }
        args.push_back(std::move(a));
    }
    return args;
}

namespace detail {

inline void on_pull_signal(int) { pull_stop_requested.store(true); }

// SIGINT, SIGTERM and SIGHUP end a pull (cap-stop sends SIGTERM), for its length.
class pull_signals : public scoped_signals {
public:
    pull_signals() noexcept : scoped_signals({SIGINT, SIGTERM, SIGHUP}, on_pull_signal) {}
};

// The symbolic link at the final name while the pull runs; removed unless
// the output was published over it.
class running_link {
public:
    running_link() = default;
    running_link(const running_link&) = delete;
    running_link& operator=(const running_link&) = delete;
    ~running_link() { remove(); }
    // Makes path a link to target; false when path exists.
    bool make(const std::string& target, const std::string& path) {
        if (::symlink(target.c_str(), path.c_str()) != 0) {
            if (errno == EEXIST) return false;
            throw system_failure(path);
        }
        path_ = path;
        return true;
    }
    // The output now stands at the name: nothing to remove.
    void published() { path_.clear(); }
    void remove() noexcept {
        struct stat st {};
        if (!path_.empty() && ::lstat(path_.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) ::unlink(path_.c_str());
        path_.clear();
    }

private:
    std::string path_;
};

// Writes a pull's record in its final state at record_path (none: a pull
// to standard output), under the directory's lock, as cap-ls and cap-stop
// expect; a failure is said on stderr: the capture itself stands.
inline void write_final_pull_record(const cli::context& ctx, const std::string& record_path, const record& rec,
                                    mode_t file_mode) {
    if (record_path.empty()) return;
    try {
        dir_lock lock(directory_of(record_path));
        write_record_file(record_path, rec, file_mode, true);
    } catch (const error& e) {
        ctx.warn(e.what());
    }
}

// The name a pull's output takes in the capture directory.
struct pull_output_name {
    std::string analyst, description;
    std::int64_t started = 0;
    bool pcapng = false;
};

// Opens a pull's output in out: on standard output; at out_path when it is
// given (-w; the link stands there while it runs when nothing else does);
// else at the first free name of the capture directory dir (its file in
// group, when given), the link holding the name, and out_path set to it.
// The file gets file_mode. Throws error.
inline void open_pull_output(std::optional<capture_writer>& out, std::string& out_path, running_link& link,
                             bool to_stdout, const std::string& dir, const std::optional<gid_t>& group,
                             const pull_output_name& name, const writer_options& options, mode_t file_mode) {
    if (to_stdout) {
        out.emplace(capture_writer::to_stdout(options));
        return;
    }
    if (!out_path.empty()) {
        out.emplace(capture_writer::to_file(out_path, options));
        set_file_mode(out->temp_path(), file_mode);
        struct stat st {};
        if (::lstat(out_path.c_str(), &st) != 0) link.make(file_name_of(out->temp_path()), out_path);
        return;
    }
    for (int n = 1;; ++n) {
        out_path = dir + "/" + capture_file_name(name.analyst, numbered_description(name.description, n), name.started,
                                                 capture_kind::pull, name.pcapng);
        out.emplace(capture_writer::to_file(out_path, options));
        set_file_mode(out->temp_path(), file_mode);
        if (group) set_file_group(out->temp_path(), *group);
        if (link.make(file_name_of(out->temp_path()), out_path)) break;
        out->abandon();
        if (n >= max_name_attempts) throw error(out_path + ": File exists");
    }
}

inline std::string pull_analyst(const cli::context& ctx) {
    if (ctx.vm.count("analyst")) return ctx.vm["analyst"].as<std::string>();
    return default_analyst(ctx.config);
}

// What a refused or failed pull's audit line says of it: the options as
// given, whatever is wrong with them.
inline void note_pull_attempt(cli::context& ctx) {
    const auto& vm = ctx.vm;
    ctx.attempt.set("analyst", pull_analyst(ctx));
    if (vm.count("description")) ctx.attempt.set("desc", vm["description"].as<std::string>());
    std::string expression;
    if (vm.count("expression")) expression = vm["expression"].as<std::string>();
    for (const auto& w : ctx.operands) expression += (expression.empty() ? "" : " ") + w;
    if (vm.count("expression") || !ctx.operands.empty()) ctx.attempt.set("expr", expression);
    for (const char* k : {"since", "until", "write"})
        if (vm.count(k)) ctx.attempt.set(k, vm[k].as<std::string>());
    std::string archives;
    for (const auto& a : vm.count("archive") ? vm["archive"].as<std::vector<std::string>>() : ctx.config.archives)
        archives += (archives.empty() ? "" : std::string(1, archives_separator)) + a;
    if (!archives.empty()) ctx.attempt.set("archives", archives);
}

inline std::string iso(const timestamp& t, int digits = -1) {
    return format_iso8601(t.sec, t.nsec, digits >= 0 ? digits : t.nsec % 1000 ? 9 : t.nsec ? 6 : 0);
}

inline std::string window_text(const time_window& w, bool since) {
    if (since) return w.has_since ? iso(w.since) : std::string();
    return w.has_until ? iso(w.until) : std::string();
}

// The scan rate of the most recent finished pull in dir (bytes per
// second), or 0 when none recorded one.
inline double measured_scan_rate(const std::string& dir) {
    double rate = 0;
    std::string latest;
    for (const auto& e : list_registry(dir)) {
        if (e.rec.get("kind") != "pull" || !e.rec.has("scan_rate")) continue;
        std::string ended = e.rec.get("ended");
        if (ended < latest) continue;
        try {
            rate = std::stod(e.rec.get("scan_rate"));
            latest = ended;
        } catch (const std::exception&) {
        }
    }
    return rate;
}

// The request the options make, with the expression checked. Throws
// usage_error (exit 2) for everything a person must fix.
inline pull_request pull_request_from(const cli::context& ctx, std::string& expression_given) {
    const auto& vm = ctx.vm;
    pull_request req;
    if (vm.count("archive")) req.archives = vm["archive"].as<std::vector<std::string>>();
    else req.archives = ctx.config.archives;
    if (req.archives.empty())
        throw usage_error("no archive to pull from: name a directory with -r DIR, or set 'archive' in the configuration");
    if (vm.count("expression") && !ctx.operands.empty())
        throw usage_error("an expression is given both with -e and as operands");
    if (vm.count("expression")) {
        expression_given = vm["expression"].as<std::string>();
    } else {
        for (const auto& w : ctx.operands) expression_given += (expression_given.empty() ? "" : " ") + w;
    }
    if (!vm.count("expression") && ctx.operands.empty())
        throw usage_error("no expression: say what traffic to pull (-e 'EXPRESSION'; -e '' for all of it)");
    req.expression = cli::vlan_wanted(ctx) ? vlan_expression(expression_given) : expression_given;
    req.window = make_time_window(vm.count("since") ? vm["since"].as<std::string>() : "",
                                  vm.count("until") ? vm["until"].as<std::string>() : "", std::time(nullptr));
    if (vm.count("format")) {
        std::string f = vm["format"].as<std::string>();
        if (f == "pcap") req.format = output_format::pcap;
        else if (f == "pcapng") req.format = output_format::pcapng;
        else throw usage_error("--format: '" + f + "' is not pcap or pcapng");
    }
    req.jobs = cli::jobs(ctx);
    req.use_index = !vm.count("no-index");
    req.index_dir = vm.count("index-dir") ? vm["index-dir"].as<std::string>() : ctx.config.index_dir;
    req.index_expression = expression_given;
    return req;
}

// Refuses an expression that compiles for none of the link types (or for
// Ethernet when none is known), with libpcap's words.
inline void check_expression(const std::string& expression, const std::vector<std::uint32_t>& linktypes) {
    std::string first_failure;
    for (std::uint32_t lt : linktypes.empty() ? std::vector<std::uint32_t>{1} : linktypes) {
        try {
            bpf_matcher m(expression, lt);
            return;
        } catch (const expression_error& e) {
            if (first_failure.empty()) first_failure = e.what();
        }
    }
    throw expression_error(first_failure);
}

inline int run_dry_run(cli::context& ctx, const pull_request& req) {
    pull_plan plan = plan_pull(req, false);
    for (const auto& p : plan.problems) ctx.warn(p);
    for (const auto& p : plan.index_notes) ctx.warn(p);
    const time_window& w = req.window;
    auto gaps = coverage_gaps([&] {
        std::vector<archive_file> v;
        for (const auto& f : plan.files) v.push_back(f.file);
        return v;
    }(), w.has_since ? w.since_second() : time_min, w.has_until ? w.until_second() : time_max);
    double rate = measured_scan_rate(ctx.config.dir);
    bool measured = rate > 0;
    if (!measured) rate = 400.0 * 1048576 * std::max(1u, std::min<unsigned>(req.jobs, available_cores()));
    std::uint64_t scanned = 0;
    for (const auto& f : plan.files)
        if (!f.indexed) scanned += f.file.size;
    double estimate = static_cast<double>(scanned + plan.indexed_bytes) / rate;
    std::int64_t span_from = 0, span_to = 0;
    if (!plan.files.empty()) {
        span_from = plan.files.front().file.start;
        for (const auto& f : plan.files) span_to = std::max(span_to, std::max(f.file.mtime, f.file.start));
    }

    bool human = ctx.output == output_mode::human;
    for (const auto& f : plan.files) {
        if (human) {
            *ctx.out << f.file.path << "  " << format_bytes_human(f.file.size) << "  " << format_iso8601(f.file.start)
                     << "  " << f.read_why << '\n';
        } else {
            record r{{"kind", "file"}, {"file", f.file.path}};
            r.set("bytes", std::to_string(f.file.size));
            r.set("start", format_iso8601(f.file.start));
            r.set("layout", std::string(layout_name(f.file.layout)));
            r.set("read", f.indexed ? "index" : "scan");
            r.set("why", f.read_why);
            write_record(*ctx.out, r, ctx.output);
        }
    }
    std::vector<std::string> summary;
    summary.push_back("files: " + std::to_string(plan.files.size()) + " of " + std::to_string(plan.scan.files.size()) +
                      " in the archive (" + std::to_string(plan.scan.opened) + " opened to read their first packet)");
    summary.push_back("bytes: " + std::to_string(plan.bytes) + " (" + format_bytes_human(plan.bytes) + ")");
    if (!req.use_index)
        summary.push_back("path: scan (--no-index)");
    else if (!plan.index.narrows)
        summary.push_back("path: scan (" + plan.index.why + ")");
    else if (plan.indexed_files == 0)
        summary.push_back("path: scan (no file of the window has a fresh index)");
    else
        summary.push_back(std::string("path: ") + (plan.indexed_files == plan.files.size() ? "index" : "index and scan") +
                          " (" + std::to_string(plan.indexed_files) + " of " + std::to_string(plan.files.size()) +
                          " files through their index, " + format_bytes_human(plan.indexed_bytes) +
                          " of candidate blocks; " + format_bytes_human(scanned) + " scanned)");
    if (!plan.files.empty())
        summary.push_back("span: " + format_iso8601(span_from) + " to " + format_iso8601(span_to));
    for (const auto& g : gaps)
        summary.push_back("gap: " + format_iso8601(g.from) + " to " + format_iso8601(g.to) + " (" +
                          format_duration(static_cast<double>(g.to - g.from)) + ")");
    char rate_text[64];
    std::snprintf(rate_text, sizeof rate_text, "%.0f MiB/s", rate / 1048576);
    summary.push_back("estimate: " + format_duration(estimate) + " at " + rate_text +
                      (measured ? " (measured by the last pull)" : " (assumed: no pull has measured it yet)"));
    if (ctx.output != output_mode::json)
        for (const auto& s : summary) *ctx.out << (human ? "" : "# ") << s << '\n';
    return plan.problems.empty() ? exit_ok : exit_failure;
}

}  // namespace detail

/// Runs cap-pull; returns the exit code.
inline int run_pull_tool(cli::context& ctx) {
    // A dry run reads no packet and logs nothing, refused or not.
    if (ctx.vm.count("dry-run")) ctx.action.clear();
    detail::note_pull_attempt(ctx);
    std::string expression_given;
    pull_request req = detail::pull_request_from(ctx, expression_given);
    // An expression that means nothing on any usual link type is refused
    // before the archive is looked at; one that might mean something on
    // the archive's own link types is checked against them once known.
    detail::check_expression(req.expression, {1, 101, 113, 276, 105, 127});
    const bool to_stdout = ctx.vm.count("write") && ctx.vm["write"].as<std::string>() == "-";
    if (to_stdout && ::isatty(STDOUT_FILENO) == 1 && ctx.out == &std::cout)
        throw usage_error("will not write a capture to a terminal: redirect standard output, or use -w FILE");
    if (ctx.vm.count("write") && !to_stdout) cli::check_caller_may_write(ctx, "--write", ctx.vm["write"].as<std::string>());
    if (ctx.vm.count("dry-run")) {
        return detail::run_dry_run(ctx, req);
    }
    const bool manifest = manifest_wanted(ctx, !ctx.vm.count("write"), to_stdout);

    const std::string analyst = detail::pull_analyst(ctx);
    const std::string description = ctx.vm.count("description") ? ctx.vm["description"].as<std::string>()
                                                                : "pull " + expression_given;
    const std::int64_t started = std::time(nullptr);
    // The output's digest for the manifest, made as it is written; outlives
    // out. Its algorithm is looked up while the plan is made: OpenSSL's
    // first fetch loads its providers (about 1 ms), and the plan mostly
    // waits on the file system.
    // (std::async's future waits for it when destroyed, whatever throws.)
    digest_tap output_tap;
    std::future<void> digest_lookup;
    if (manifest) {
        try {
            digest_lookup = std::async(std::launch::async, [&output_tap] { output_tap.prepare(); });
        } catch (const std::system_error&) {
            // No thread: the first bytes written look it up.
        }
    }
    pull_plan plan = plan_pull(req);
    detail::check_expression(req.expression, plan.linktypes);
    if (to_stdout && plan.format == output_format::pcapng && !req.format)
        throw usage_error("the files of the window have several link types: pcap on standard output cannot hold "
                          "them; use -F pcapng");
    for (const auto& p : plan.problems) ctx.warn(p);
    for (const auto& p : plan.index_notes) ctx.warn(p);

    writer_options options;
    options.format = plan.format;
    options.nanoseconds = plan.nanoseconds;
    const bool pcapng = plan.format == output_format::pcapng;
    // With a manifest, the output's SHA-256 is made as it is written: for
    // the first 8 MiB on this thread (0.6 ms a MiB: less than waking
    // threads on busy cores costs a small pull), then, with a core to
    // spare, on a thread of its own beside the one that writes
    // (write_behind.hpp). In 1 MiB buffers, as cap-merge's: fewer
    // hand-overs between the three threads (bench_manifest.sh, 256 MiB
    // out: 256 KiB 0.437 s, 1 MiB 0.397 s).
    if (manifest && available_cores() > 1) {
        options.write_behind = true;
        options.write_behind_after = std::uint64_t{8} << 20;
        options.buffer_size = std::size_t{1} << 20;
    }

    // From here on a signal asks the pull to stop, never kills it half way
    // between the link, the record and the file.
    pull_stop_requested.store(false);
    detail::pull_signals signals;

    // The output, and the symbolic link at its final name while it runs.
    // What is written gets the configured file mode, whatever the umask.
    const mode_t file_mode = ctx.config.file_mode;
    umask_for(file_mode);
    detail::running_link link;
    std::string out_path, record_path;
    std::optional<capture_writer> out;
    std::optional<gid_t> group;
    if (!to_stdout && ctx.vm.count("write")) out_path = ctx.vm["write"].as<std::string>();
    else if (!to_stdout)
        group = prepare_pull_dir(ctx.config.dir, ctx.config.capture_user, ctx.config.capture_group, file_mode);
    const bool into_dir = !to_stdout && out_path.empty();
    detail::open_pull_output(out, out_path, link, to_stdout, ctx.config.dir, group,
                             {analyst, description, started, pcapng}, options, file_mode);
    if (into_dir) record_path = record_path_for(out_path);
    if (digest_lookup.valid()) digest_lookup.wait();
    if (manifest) out->tap(&output_tap);

    actor who = current_actor();
    std::mutex rec_mutex;
    record rec;
    rec.set("id", new_capture_id());
    rec.set("kind", "pull");
    rec.set("state", "running");
    rec.set("analyst", analyst);
    rec.set("file", to_stdout ? std::string("-") : out_path);
    rec.set("desc", description);
    rec.set("expr", expression_given);
    if (cli::vlan_wanted(ctx)) rec.set("vlan", "yes");
    if (req.window.has_since) rec.set("since", detail::window_text(req.window, true));
    if (req.window.has_until) rec.set("until", detail::window_text(req.window, false));
    std::string archives;
    for (const auto& a : req.archives) archives += (archives.empty() ? "" : std::string(1, archives_separator)) + a;
    rec.set("archives", archives);
    rec.set("started", format_iso8601(started));
    rec.set("pid", std::to_string(::getpid()));
    rec.set("pstart", std::to_string(process_start_time(::getpid()).value_or(0)));
    rec.set("user", who.sudo_user.empty() ? who.user : who.sudo_user);
    rec.set("files_total", std::to_string(plan.files.size()));
    rec.set("progress", "starting, 0/" + std::to_string(plan.files.size()) + " files");
    rec.set("read_bytes", "0");
    rec.set("total_bytes", std::to_string(plan.bytes));
    if (!record_path.empty()) write_record_file(record_path, rec, file_mode);

    record details{{"id", rec.get("id")}, {"analyst", analyst}, {"file", rec.get("file")}, {"expr", expression_given}};
    for (const char* k : {"since", "until"})
        if (rec.has(k)) details.set(k, rec.get(k));
    details.set("files", std::to_string(plan.files.size()));
    if (plan.files.empty() && plan.problems.empty())
        ctx.warn("no file of the archive covers the window: the capture will be empty");
    ctx.log("pull", "started", details);
    ctx.attempt = details;  // a failure from here on names the pull by its id

    pull_progress progress;
    progress.files_total = plan.files.size();
    progress.bytes_total = plan.bytes;
    pull_result result;
    std::string failure;
    std::optional<std::uint64_t> kept;  // packets kept of a pull that failed part way
    auto begun = std::chrono::steady_clock::now();
    {
        detail::progress_reporter reporter(ctx, progress, record_path, rec, rec_mutex);
        const std::string temp = out->temp_path();
        try {
            result = run_pull(plan, req, *out, progress, pull_stop_requested);
            // Every source failed: no capture to publish (on standard
            // output, what was written is gone already).
            if (to_stdout || !pull_outcome_of(false, false, result.interrupted,
                                              plan.problems.size() + result.failures.size(), plan.files.size(),
                                              result.failures.size(), result.packets)
                                 .nothing_read) {
                out->commit();
                link.published();
            } else {
                out->abandon();
                link.remove();
            }
        } catch (const std::exception& e) {
            failure = e.what();
            // A full disk: what was written so far is still the traffic
            // asked for, up to a point; it is kept, valid, and the record
            // says the pull failed.
            try {
                kept = out->keep_written();
                link.published();
            } catch (const std::exception&) {
                link.remove();
                // A directory made unreadable: the temporary cannot even be
                // removed. It is not lost: cap-ls makes it whole later.
                struct stat st {};
                if (!temp.empty() && (::lstat(temp.c_str(), &st) == 0 || errno == EACCES))
                    failure += " (what was pulled stays in " + temp +
                               (record_path.empty() ? std::string(")")
                                                    : "; cap-ls publishes it under its name once the directory "
                                                      "is usable again)");
            }
        }
        reporter.stop();
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
    for (const auto& f : result.failures) ctx.warn(f);
    for (const auto& f : result.notes) ctx.warn(f);

    std::size_t problems = plan.problems.size() + result.failures.size();
    const pull_outcome outcome = pull_outcome_of(!failure.empty(), kept.has_value(), result.interrupted, problems,
                                                 plan.files.size(), result.failures.size(), result.packets);
    if (outcome.nothing_read && failure.empty())
        failure = "nothing was pulled: its sources failed (" + std::to_string(problems) +
                  (problems == 1 ? " problem" : " problems") + "), so no capture was made";
    const std::string& state = outcome.state;
    rec.set("state", state);
    rec.set("ended", format_iso8601(std::time(nullptr)));
    if (kept) result.last.reset();  // which packet came last is not known
    rec.set("packets", std::to_string(kept ? *kept : result.packets));
    rec.set("bytes", std::to_string((failure.empty() || kept) && outcome.publish ? out->bytes() : 0));
    rec.set("format", pcapng ? "pcapng" : plan.nanoseconds ? "pcap-ns" : "pcap");
    rec.set("files_done", std::to_string(progress.files_done.load()));
    rec.set("read_bytes", std::to_string(progress.bytes_read.load()));  // also when it failed part way
    if (plan.indexed_files) rec.set("indexed_files", std::to_string(plan.indexed_files - result.notes.size()));
    rec.erase("eta");
    // Even a pull of a few milliseconds measures the rate (the dry run's
    // estimate had none after a small pull); its fixed costs make it low,
    // which errs on the side of a longer estimate. A pull through indexes
    // reads few bytes: no scan rate to measure.
    if (seconds > 0 && result.bytes_read > 0 && !result.interrupted && plan.indexed_files == 0)
        rec.set("scan_rate", std::to_string(static_cast<std::uint64_t>(static_cast<double>(result.bytes_read) / seconds)));
    if (result.interrupted)
        rec.set("progress", "interrupted: complete up to " +
                                (result.complete_until.sec >= time_max ? std::string("the end")
                                                                        : detail::iso(result.complete_until)) +
                                ", " + std::to_string(progress.files_done.load()) + "/" +
                                std::to_string(plan.files.size()) + " files");
    else
        rec.set("progress", (failure.empty() ? state : std::string("failed")) + ", " +
                                std::to_string(progress.files_done.load()) + "/" +
                                std::to_string(plan.files.size()) + " files");
    const int digits = plan.nanoseconds ? 9 : 6;
    if (result.first) rec.set("first", detail::iso(*result.first, digits));
    if (result.last) rec.set("last", detail::iso(*result.last, digits));
    if (problems) rec.set("problems", std::to_string(problems));
    if (!failure.empty()) rec.set("reason", failure);
    detail::write_final_pull_record(ctx, record_path, rec, file_mode);
    details.set("packets", rec.get("packets"));
    details.set("bytes", rec.get("bytes"));
    if (problems) details.set("problems", std::to_string(problems));
    if (!failure.empty()) details.set("reason", failure);
    ctx.log("pull", outcome.audit, details);

    if (!failure.empty() && !kept) throw error(failure);
    const bool manifest_failed = manifest && outcome.publish && !publish_pull_manifest(ctx, rec, req, plan, out_path,
                                                                                     known_digest_of(*out, output_tap));
    if (kept) {
        ctx.warn(failure);
        ctx.warn(out_path + ": kept the " + std::to_string(*kept) +
                 " packets written before the failure (a valid capture, cut short)");
    }
    if (!to_stdout) {
        record shown = rec;
        for (const char* k : {"pid", "pstart", "progress", "files_done"}) shown.erase(k);
        if (ctx.output == output_mode::human) {
            *ctx.out << (kept ? "Failed, kept " : result.interrupted ? "Interrupted: " : "Pulled ")
                     << (kept ? *kept : result.packets) << " packets ("
                     << format_bytes_human(out->bytes()) << ") from " << progress.files_done.load() << " of "
                     << plan.files.size() << " files into " << out_path << '\n';
        } else {
            write_record(*ctx.out, shown, ctx.output);
        }
    }
    return outcome.exit_code || manifest_failed ? exit_failure : exit_ok;
}

}  // namespace capture
