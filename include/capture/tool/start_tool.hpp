// cap-start: start a live capture that runs on its own (see cap-start(1)).
//
// Everything that can be refused is refused before anything starts and
// before any file exists: the options, the interface, the privileges, the
// expression (compiled for the interface's link type). Only then does the
// capture detach; it drops its privileges, creates its file and record,
// and says "OK" on a pipe, and only then does cap-start return.
#pragma once

#include "capture/engine/analyst.hpp"
#include "capture/engine/capture_dir.hpp"
#include "capture/sys/atomic_file.hpp"
#include "capture/pcap/bpf.hpp"
#include "capture/engine/cli.hpp"
#include "capture/sys/file_mode.hpp"
#include "capture/engine/live_capture.hpp"
#include "capture/text/naming.hpp"
#include "capture/pcap/pcap_handle.hpp"
#include "capture/sys/process.hpp"
#include "capture/engine/registry.hpp"
#include "capture/sys/time_arg.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace capture {

/// What the command line asks cap-start to do.
struct start_request {
    std::string analyst;      ///< who the capture is for
    std::string description;  ///< why (made from the expression when not given)
    std::string expression;   ///< the BPF expression
};

/// A readable description made from an expression when none is given:
/// the expression itself, its words joined by one space, cut at 60 bytes.
inline std::string description_from_expression(const std::string& expression) {
    std::string out;
    std::size_t i = 0;
    while (i < expression.size()) {
        while (i < expression.size() && (expression[i] == ' ' || expression[i] == '\t' || expression[i] == '\n')) ++i;
        std::size_t j = i;
        while (j < expression.size() && !(expression[j] == ' ' || expression[j] == '\t' || expression[j] == '\n')) ++j;
        if (j > i) {
            if (!out.empty()) out += ' ';
            out += expression.substr(i, j - i);
        }
        i = j;
    }
    if (out.size() > 60) out.resize(60);
    return out.empty() ? "capture" : "traffic: " + out;
}

/// The words joined by single spaces.
inline std::string join_words(const std::vector<std::string>& words, std::size_t from) {
    std::string out;
    for (std::size_t i = from; i < words.size(); ++i) {
        if (!out.empty()) out += ' ';
        out += words[i];
    }
    return out;
}

/// The absolute form of dir (which exists). Throws error.
inline std::string absolute_dir(const std::string& dir) {
    char* real = ::realpath(dir.c_str(), nullptr);
    if (!real) throw system_failure(dir);
    std::string out = real;
    std::free(real);
    return out;
}

namespace detail {

/// Reads the request from the options: the flag form (-a -d -e, with any
/// operands as the expression) or the speed form (ANALYST [DESCRIPTION]
/// EXPRESSION...). compiles tells whether words make a valid expression.
inline start_request parse_start_request(const cli::context& ctx, const std::function<bool(const std::string&)>& compiles) {
    start_request req;
    const auto& vm = ctx.vm;
    auto text = [&](const char* name) { return vm.count(name) ? vm[name].as<std::string>() : std::string(); };
    req.analyst = text("analyst");
    req.description = text("description");
    req.expression = text("expression");
    const auto& ops = ctx.operands;
    if (!req.analyst.empty() || !req.expression.empty()) {
        if (!ops.empty()) {
            if (!req.expression.empty()) throw usage_error("an expression is given both with -e and as operands");
            req.expression = join_words(ops, 0);
        }
    } else if (!ops.empty()) {
        req.analyst = ops[0];
        // A quoted description has a space; otherwise it is one only when
        // the words from it on do not compile as an expression.
        if (ops.size() >= 3 && req.description.empty() &&
            (ops[1].find_first_of(" \t") != std::string::npos || !compiles(join_words(ops, 1)))) {
            req.description = ops[1];
            req.expression = join_words(ops, 2);
        } else {
            req.expression = join_words(ops, 1);
        }
    }
    if (req.analyst.empty()) req.analyst = default_analyst(ctx.config);
    if (req.expression.empty())
        throw usage_error("no expression: say what traffic to capture (-e 'EXPRESSION', or after the analyst)");
    if (req.description.empty()) req.description = description_from_expression(req.expression);
    return req;
}

/// The device handle the caller keeps (unclosed) once the capture owns it.
inline pcap_t* handle_left_to_exit = nullptr;

inline std::string hint_for(int err, const run_as* who) {
    if (err == EACCES && who)
        return " (the capture runs as " + who->user + ":" + who->group + ", which must be able to write there)";
    return {};
}

}  // namespace detail

/// The seconds a capture runs for: --duration (asked) when given, else the
/// duration key; never more than max-duration when that is set. Throws
/// usage_error for a bad duration, or when --duration asks for more than
/// max-duration allows (a longer default is cut to it instead).
inline std::uint64_t capture_duration_s(const settings& config, const std::string* asked) {
    std::uint64_t max = parse_duration(config.max_duration, "max-duration");
    if (asked) {
        std::uint64_t d = parse_duration(*asked, "--duration");
        if (max && (d == 0 || d > max))
            throw usage_error("--duration: '" + *asked + "' is beyond max-duration (" + config.max_duration +
                              (config.config_file.empty() ? "" : ", set in " + config.config_file) + ")");
        return d;
    }
    std::uint64_t d = parse_duration(config.duration, "duration");
    return max && (d == 0 || d > max) ? max : d;
}

/// The cap-pull command line that -R runs: the same analyst, description
/// and expression (and --vlan or not), from --since (or the archive's
/// beginning) up to the moment the live capture started, so the two files
/// meet without a gap.
inline std::vector<std::string> past_pull_arguments(const cli::context& ctx, const record& started) {
    std::vector<std::string> args{"cap-pull", "-a", started.get("analyst"), "-d", started.get("desc"),
                                  "-e", started.get("expr"), "--until=" + started.get("started"),
                                  started.get("vlan") == "yes" ? "--vlan" : "--no-vlan"};
    if (ctx.vm.count("since")) args.push_back("--since=" + ctx.vm["since"].as<std::string>());
    if (ctx.vm.count("archive"))
        for (const auto& dir : ctx.vm["archive"].as<std::vector<std::string>>()) args.insert(args.end(), {"-r", dir});
    if (ctx.vm.count("dir")) args.push_back("--dir=" + ctx.vm["dir"].as<std::string>());
    if (ctx.vm.count("config")) args.push_back("--config=" + ctx.vm["config"].as<std::string>());
    if (ctx.vm.count("no-syslog")) args.push_back("--no-syslog");
    if (ctx.vm.count("json")) args.push_back("--json");
    else if (ctx.output == output_mode::records) args.push_back("--records");
    else args.push_back("--human");
    return args;
}

/// Runs cap-pull for -R, as git runs its sub-commands: the cap-pull that
/// sits beside this cap-start, in the foreground, writing to the same
/// stdout, so the pull keeps its own progress, signals, record and audit
/// line. Returns its exit status (1 when it could not be run).
inline int run_past_pull(const cli::context& ctx, const record& started) {
    std::vector<std::string> args = past_pull_arguments(ctx, started);
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    std::string program = "cap-pull";
    if (n > 0) program = directory_of(std::string(self, static_cast<std::size_t>(n))) + "/cap-pull";
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        ctx.warn("cannot run cap-pull for -R: " + errno_text(errno));
        return exit_failure;
    }
    if (pid == 0) {
        ::execv(program.c_str(), argv.data());
        ::execvp("cap-pull", argv.data());  // installed elsewhere on PATH
        std::fprintf(stderr, "%s: cannot run cap-pull for -R: %s\n", ctx.tool.c_str(), std::strerror(errno));
        ::_exit(exit_failure);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : exit_failure;
}

/// Runs cap-start; returns the exit code (in the detached capture it never
/// returns: that process ends with _exit once the capture is over).
inline int run_start(cli::context& ctx) {
    const auto& vm = ctx.vm;
    actor who_started = current_actor();
    // Whatever stops the start before the capture is logged is logged by the
    // runner (tool::audits): "refused" for the user's mistake, "failed" for
    // the machine's, with what ctx.attempt knows by then.

    live_settings device;
    device.interface = vm.count("interface") ? vm["interface"].as<std::string>() : ctx.config.interface;
    int snaplen = vm.count("snaplen") ? vm["snaplen"].as<int>() : ctx.config.snaplen;
    if (snaplen < 0) throw usage_error("--snaplen: must not be negative");
    if (snaplen > 0) device.snaplen = snaplen;
    if (vm.count("buffer-size"))
        device.buffer_bytes = static_cast<int>(parse_buffer_size(vm["buffer-size"].as<std::string>(), "--buffer-size"));
    else if (ctx.config.buffer_bytes)
        device.buffer_bytes = static_cast<int>(ctx.config.buffer_bytes);
    device.promiscuous = !vm.count("no-promiscuous");
    const bool vlan = cli::vlan_wanted(ctx);
    const mode_t file_mode = ctx.config.file_mode;
    capture_limits limits;
    limits.duration_s = capture_duration_s(ctx.config, vm.count("duration") ? &vm["duration"].as<std::string>() : nullptr);
    if (vm.count("max-size")) limits.max_bytes = parse_size(vm["max-size"].as<std::string>(), "--max-size");
    if (limits.max_bytes && limits.max_bytes < 24) throw usage_error("--max-size: at least 24 bytes (the file header)");
    if (vm.count("count")) {
        long long c = vm["count"].as<long long>();
        if (c <= 0) throw usage_error("--count: must be positive");
        limits.count = static_cast<std::uint64_t>(c);
    }

    unique_pcap handle;
    start_request req;
    std::string header;
    if (device.interface.empty()) device.interface = default_interface();
    ctx.attempt.set("iface", device.interface);
    handle = open_live(device);
    req = detail::parse_start_request(ctx, [&](const std::string& words) {
        try {
            compile_filter(handle.get(), words);
            return true;
        } catch (const usage_error&) {
            return false;
        }
    });
    ctx.attempt.set("analyst", req.analyst);
    ctx.attempt.set("desc", req.description);
    ctx.attempt.set("expr", req.expression);
    apply_filter(handle.get(), vlan ? vlan_expression(req.expression) : req.expression, device.interface);
    header = pcap_file_header_for(handle.get());

    bool as_root = ::geteuid() == 0;
    run_as who;
    if (as_root) who = resolve_run_as(ctx.config.capture_user, ctx.config.capture_group);
    check_capture_dir_usable(ctx.config.dir);
    ensure_capture_dir(ctx.config.dir, as_root, who.gid, file_mode);
    if (as_root && who.uid != 0 &&
        make_capture_dir_usable(ctx.config.dir, who, capture_dir_mode(file_mode, true), calling_uid()))
        ctx.warn(ctx.config.dir + ": made usable by the capture (group " + who.group + ", mode " +
                 format_file_mode(capture_dir_mode(file_mode, true)) + ")");
    const std::string dir = absolute_dir(ctx.config.dir);

    record rec;
    rec.set("kind", "live");
    rec.set("state", "running");
    rec.set("analyst", req.analyst);
    rec.set("desc", req.description);
    rec.set("expr", req.expression);
    if (vlan) rec.set("vlan", "yes");
    rec.set("iface", device.interface);
    rec.set("snaplen", std::to_string(device.snaplen));
    rec.set("user", who_started.sudo_user.empty() ? who_started.user : who_started.sudo_user);
    if (as_root && who.uid != 0) rec.set("runas", who.user + ":" + who.group);
    // Not "duration" or "count": cap-info's "duration" is the span of the
    // packets, and a record passing through both must keep both meanings.
    if (limits.duration_s) rec.set("max_duration", std::to_string(limits.duration_s));
    if (limits.max_bytes) rec.set("max_size", std::to_string(limits.max_bytes));
    if (limits.count) rec.set("max_count", std::to_string(limits.count));

    // A second pipe, the other way: the capture enters its loop once
    // cap-start has logged the start and says go (and gives up, leaving
    // nothing, if cap-start is gone before), so the audit trail never
    // shows a capture's end before its start, nor a capture never started. The kernel buffers
    // packets meanwhile: the device has been capturing since it was opened.
    int go_fds[2];
    if (::pipe2(go_fds, O_CLOEXEC) != 0) throw system_failure("pipe");
    unique_fd go_read(go_fds[0]), go_write(go_fds[1]);
    ctx.out->flush();
    std::fflush(nullptr);
    detached side = detach_daemon();
    if (side.in_daemon) {
        go_write.reset();
        std::string file_path, record_path;
        bool published = false;  // from here on the files are the capture's, never removed
        try {
            if (as_root && who.uid != 0) drop_privileges(who);
            else clear_capabilities();
            umask_for(file_mode);
            std::int64_t started = std::time(nullptr);
            unique_fd fd;
            for (int n = 1; !fd; ++n) {
                file_path = dir + "/" + capture_file_name(req.analyst, numbered_description(req.description, n), started);
                fd.reset(::open(file_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, file_mode));
                if (!fd && (errno != EEXIST || n >= max_name_attempts)) {
                    int err = errno;
                    file_path.clear();
                    throw error(dir + ": " + errno_text(err) + detail::hint_for(err, as_root ? &who : nullptr));
                }
            }
            ::fchmod(fd.get(), file_mode);
            record_path = record_path_for(file_path);
            rec.set("id", new_capture_id());
            rec.set("file", file_path);
            rec.set("started", format_iso8601(started));
            rec.set("pid", std::to_string(::getpid()));
            rec.set("pstart", std::to_string(process_start_time(::getpid()).value_or(0)));
            rec.set("bytes", "24");
            rec.set("packets", "0");
            install_stop_handlers();
            pcap_file_out out(std::move(fd), header);
            if (out.write_errno()) throw error(file_path + ": " + errno_text(out.write_errno()));
            write_record_file(record_path, rec, file_mode, true);
            write_handshake(side.channel, "OK " + format_record(rec));
            side.channel.reset();
            published = true;
            // cap-start says go once it has logged the start. Killed (or
            // given up) before that, it never told anyone of this capture:
            // it must not run unseen, and it leaves nothing behind.
            if (!wait_for_go(go_read, std::chrono::seconds(15))) {
                ::unlink(record_path.c_str());
                ::unlink(file_path.c_str());
                record details{{"id", rec.get("id")}, {"analyst", rec.get("analyst")}, {"file", file_path},
                               {"reason", "cap-start ended before it confirmed the start; nothing was kept"}};
                ctx.log("start", "failed", details);
                ::_exit(1);
            }
            go_read.reset();
            live_job job;
            job.handle = handle.get();
            job.record_path = record_path;
            job.rec = rec;
            job.limits = limits;
            job.timeout_ms = device.timeout_ms;
            job.audit = &ctx.audit;
            job.file_mode = file_mode;
            record final_rec = run_live_capture(job, out);
            handle.reset();
            ::_exit(final_rec.get("state") == "failed" ? 1 : 0);
        } catch (const std::exception& e) {
            if (!published) {
                if (!record_path.empty()) ::unlink(record_path.c_str());
                if (!file_path.empty()) ::unlink(file_path.c_str());
                write_handshake(side.channel, std::string("ERR ") + e.what());
            }
            ::_exit(1);
        }
    }

    // The capture owns the device now. Closing our copy of the handle
    // would tear down the packet ring the two processes share, so it is
    // left to the exit; a static keeps it reachable for leak checkers.
    detail::handle_left_to_exit = handle.release();
    go_read.reset();

    std::string line = read_handshake(side.channel, std::chrono::seconds(15));
    std::optional<record> started = parse_record_line(line);
    if (!started) throw error("the capture process sent an empty record");
    record details{{"id", started->get("id")}, {"analyst", started->get("analyst")}, {"file", started->get("file")},
                   {"iface", started->get("iface")}, {"expr", started->get("expr")}, {"desc", started->get("desc")},
                   {"pid", started->get("pid")}};
    ctx.log("start", "ok", details);
    write_handshake(go_write, "go");
    go_write.reset();
    if (ctx.output == output_mode::human)
        *ctx.out << "Started " << started->get("id") << ": " << started->get("file") << '\n';
    else write_record(*ctx.out, *started, ctx.output);
    if (!ctx.vm.count("past")) return exit_ok;
    ctx.out->flush();
    return run_past_pull(ctx, *started);
}

/// Declares cap-start's own options on tool.
inline void declare_start_options(cli::tool& tool) {
    namespace po = boost::program_options;
    tool.takes_operands("ANALYST DESCRIPTION EXPRESSION").audits("start");
    tool.add_options()
        ("analyst,a", po::value<std::string>()->value_name("ANALYST"), "who the capture is for (default: the 'analyst' key, else SUDO_USER, else you)")
        ("description,d", po::value<std::string>()->value_name("TEXT"), "why: a description (default: made from the expression)")
        ("expression,e", po::value<std::string>()->value_name("EXPR"), "the BPF expression of the traffic to capture")
        ("interface,i", po::value<std::string>()->value_name("IFACE"), "the interface (default: configured, else the first up one)")
        ("snaplen,s", po::value<int>()->value_name("BYTES"), "bytes kept of each packet (default: all of it)")
        ("duration", po::value<std::string>()->value_name("TIME"), "stop after TIME (90s, 30m, 2h, 1d; 0: never; default: configured, else 1d)")
        ("max-size", po::value<std::string>()->value_name("SIZE"), "stop before the file grows beyond SIZE (500K, 100M, 2G)")
        ("count,c", po::value<long long>()->value_name("N"), "stop after N packets")
        ("buffer-size,B", po::value<std::string>()->value_name("SIZE"), "the kernel's capture buffer (default: configured, else 32M)")
        ("vlan", "match the expression in 802.1Q-tagged frames too (default: the 'vlan' configuration key)")
        ("no-vlan", "match untagged frames only, whatever the configuration says")
        ("no-promiscuous,p", "do not put the interface into promiscuous mode")
        ("past,R", "also pull the same traffic from the archive, up to the start (runs cap-pull)")
        ("archive,r", po::value<std::vector<std::string>>()->value_name("DIR")->composing(),
         "with -R: an archive directory (repeatable; default: the 'archive' configuration key)")
        ("since", po::value<std::string>()->value_name("TIME"), "with -R: pull from TIME on (default: all of the archive)");
}

}  // namespace capture
