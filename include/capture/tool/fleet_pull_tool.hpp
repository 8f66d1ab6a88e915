// cap-pull --sensor: the same pull on many sensors over ssh, merged in
// time order as the streams arrive (engine/fleet_pull.hpp). See cap-pull(1),
// "FLEET PULLS".
//
// The pull is checked here as a local one is (options, window, expression:
// exit 2 before any ssh starts); the window is sent to every sensor as
// absolute times, so "-2h" means the same two hours everywhere. Each
// packet's origin survives: with -F pcapng, one interface per sensor named
// after it (one per link type of a sensor that has several: the sensors
// are asked for pcapng too); with pcap, a record per sensor after the
// pull's own record.
#pragma once

#include "capture/engine/analyst.hpp"
#include "capture/engine/capture_dir.hpp"
#include "capture/engine/cli.hpp"
#include "capture/engine/fleet_pull.hpp"
#include "capture/engine/pull_status.hpp"
#include "capture/engine/registry.hpp"
#include "capture/pcap/capture_writer.hpp"
#include "capture/sys/file_mode.hpp"
#include "capture/sys/time_arg.hpp"
#include "capture/sys/time_format.hpp"
#include "capture/text/naming.hpp"
#include "capture/tool/manifest_options.hpp"
#include "capture/tool/pull_progress.hpp"
#include "capture/tool/pull_tool.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace capture {

/// Declares the options of fleet pulls on tool (after cap-pull's own).
inline void declare_fleet_pull_options(cli::tool& tool) {
    namespace po = boost::program_options;
    tool.add_options()
        ("sensor", po::value<std::vector<std::string>>()->value_name("SENSOR")->composing(),
         "pull on SENSOR over ssh (repeatable; SENSOR,SENSOR...; @GROUP: a 'sensor-group'; @all: the 'sensors' key)")
        ("sensor-timeout", po::value<std::string>()->value_name("DUR"),
         "give up a sensor silent for DUR while the merge waits for it (default: the 'sensor-timeout' key, else 10m; 0: never)");
}

namespace detail {

// The sensors --sensor names, groups expanded, each once, in order.
inline std::vector<std::string> fleet_sensors(const cli::context& ctx) {
    std::vector<std::string> out;
    auto add = [&out](const std::string& name) {
        check_sensor_name(name);
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    };
    for (const auto& value : ctx.vm["sensor"].as<std::vector<std::string>>()) {
        for (const auto& word : parse_group_list(value)) {
            if (word.front() != '@') {
                add(word);
                continue;
            }
            const std::string group = word.substr(1);
            if (group == "all") {
                if (ctx.config.sensors.empty())
                    throw usage_error("--sensor @all: the configuration names no sensors (the 'sensors' key)");
                for (const auto& s : ctx.config.sensors) add(s);
                continue;
            }
            auto g = std::find_if(ctx.config.sensor_groups.begin(), ctx.config.sensor_groups.end(),
                                  [&](const auto& p) { return p.first == group; });
            if (g == ctx.config.sensor_groups.end())
                throw usage_error("--sensor " + word + ": no such group (the 'sensor-group' key)");
            for (const auto& s : g->second) add(s);
        }
    }
    if (out.empty()) throw usage_error("--sensor: no sensor named");
    return out;
}

inline fleet_settings fleet_settings_from(const cli::context& ctx) {
    fleet_settings fs;
    fs.ssh_command = split_words(ctx.config.ssh_command);
    if (fs.ssh_command.empty()) throw usage_error("ssh-command: empty");
    fs.sensor_command = ctx.config.sensor_command;
    if (split_words(fs.sensor_command).empty()) throw usage_error("sensor-command: empty");
    const std::string t = ctx.vm.count("sensor-timeout") ? ctx.vm["sensor-timeout"].as<std::string>()
                                                         : ctx.config.sensor_timeout;
    fs.timeout = std::chrono::seconds(parse_duration(t, "--sensor-timeout"));
    return fs;
}

// What every sensor's cap-pull is asked: the pull as given here, the
// window in absolute times, the capture on standard output.
inline std::vector<std::string> fleet_remote_args(const cli::context& ctx, const pull_request& req,
                                                  const std::string& analyst, const std::string& description,
                                                  const std::string& expression) {
    const auto& vm = ctx.vm;
    std::vector<std::string> a{"-a", analyst, "-d", description, "-e", expression};
    if (req.window.has_since) a.push_back("--since=" + window_text(req.window, true));
    if (req.window.has_until) a.push_back("--until=" + window_text(req.window, false));
    a.push_back(cli::vlan_wanted(ctx) ? "--vlan" : "--no-vlan");
    if (vm.count("archive"))
        for (const auto& r : vm["archive"].as<std::vector<std::string>>()) a.insert(a.end(), {"-r", r});
    if (vm.count("no-index")) a.push_back("--no-index");
    if (vm.count("jobs") && !vm["jobs"].defaulted()) a.push_back("-j" + std::to_string(vm["jobs"].as<int>()));
    // pcapng here: pcapng from the sensors too, so that a sensor whose
    // window holds several link types sends them all.
    if (req.format && *req.format == output_format::pcapng) a.insert(a.end(), {"-F", "pcapng"});
    return a;
}

// "s1 2023-11-14T22:13:20Z 12.0 MiB, s2 done 30.0 MiB, s3 failed".
inline std::string fleet_progress_text(const std::vector<const fleet_sensor*>& sensors) {
    std::string out;
    for (const auto* s : sensors) {
        out += (out.empty() ? "" : ", ") + s->name + " ";
        if (s->state == "running") out += s->last ? format_iso8601(s->last->sec) : std::string("starting");
        else out += s->state;
        if (s->received) out += " " + format_bytes_human(s->received);
    }
    return out;
}

// One sensor's part in the result.
inline record sensor_record(const fleet_sensor& s, const std::string& pull_id, const std::string& file, int digits) {
    record r{{"kind", "sensor"}, {"state", s.state}, {"file", file}};
    r.set("sensor", s.name);
    r.set("pull", pull_id);
    r.set("packets", std::to_string(s.packets));
    r.set("received", std::to_string(s.received));
    if (s.first) r.set("first", iso(*s.first, digits));
    if (s.last) r.set("last", iso(*s.last, digits));
    if (!s.reason.empty()) r.set("reason", s.reason);
    return r;
}

// The dry run: every sensor's own dry run (-n --json), their bytes summed.
inline int run_fleet_dry_run(cli::context& ctx, const std::vector<std::string>& sensors,
                             std::vector<std::string> remote_args, const fleet_settings& fs) {
    remote_args.insert(remote_args.begin(), {"-n", "--json"});
    std::vector<fleet_answer> answers = ask_sensors(sensors, remote_args, fs);
    std::uint64_t total = 0;
    std::size_t total_files = 0, failed = 0;
    const bool human = ctx.output == output_mode::human;
    for (auto& a : answers) {
        std::uint64_t bytes = 0;
        std::size_t files = 0;
        std::string why = a.reason;
        if (why.empty()) {
            std::size_t from = 0;
            for (std::size_t nl; (nl = a.out.find('\n', from)) != std::string::npos; from = nl + 1) {
                const std::string line = a.out.substr(from, nl - from);
                if (line.empty()) continue;
                try {
                    const auto j = nlohmann::json::parse(line);
                    if (j.value("kind", "") != "file") continue;
                    const auto& b = j.at("bytes");
                    bytes += b.is_string() ? std::stoull(b.get<std::string>()) : b.get<std::uint64_t>();
                    ++files;
                } catch (const std::exception&) {
                    why = "its dry run said something that is not a file record: '" + terminal_safe(line.substr(0, 80)) + "'";
                    break;
                }
            }
        }
        record r{{"kind", "sensor"}, {"state", why.empty() ? "planned" : "failed"}};
        r.set("sensor", a.name);
        r.set("files", std::to_string(files));
        r.set("bytes", std::to_string(bytes));
        if (!why.empty()) r.set("reason", why), ++failed;
        total += bytes;
        total_files += files;
        if (human)
            *ctx.out << a.name << "  " << (why.empty() ? std::to_string(files) + " files  " + format_bytes_human(bytes)
                                                        : "failed: " + why)
                     << '\n';
        else
            write_record(*ctx.out, r, ctx.output);
        if (!why.empty()) ctx.warn(a.name + ": " + why);
    }
    if (ctx.output != output_mode::json)
        *ctx.out << (human ? "" : "# ") << "sensors: " << sensors.size() - failed << " of " << sensors.size()
                 << " answered; files: " << total_files << "; bytes: " << total << " (" << format_bytes_human(total)
                 << ")\n";
    return failed ? exit_failure : exit_ok;
}

}  // namespace detail

/// Runs cap-pull --sensor; returns the exit code.
inline int run_fleet_pull_tool(cli::context& ctx) {
    if (ctx.vm.count("dry-run")) ctx.action.clear();
    detail::note_pull_attempt(ctx);
    const std::vector<std::string> sensors = detail::fleet_sensors(ctx);
    ctx.attempt.set("sensors", group_list_text(sensors));
    if (ctx.vm.count("from-alert")) throw usage_error("--sensor and --from-alert: one or the other");
    if (ctx.vm.count("index-dir")) throw usage_error("--index-dir is not for a fleet pull (the sensors' own apply)");
    if (ctx.vm.count("hash-sources"))
        throw usage_error("--hash-sources is not for a fleet pull: its sources are on the sensors");
    // The sensors read their own archives: none need exist here.
    std::string expression_given;
    pull_request req;
    {
        // pull_request_from wants an archive; the sensors have their own.
        const bool none = !ctx.vm.count("archive") && ctx.config.archives.empty();
        if (none) ctx.config.archives = {"(the sensors')"};
        req = detail::pull_request_from(ctx, expression_given);
        if (none) ctx.config.archives.clear();
    }
    detail::check_expression(req.expression, {1, 101, 113, 276, 105, 127});
    const fleet_settings fs = detail::fleet_settings_from(ctx);
    const std::string analyst = detail::pull_analyst(ctx);
    const std::string description = ctx.vm.count("description") ? ctx.vm["description"].as<std::string>()
                                                                : "pull " + expression_given;
    std::vector<std::string> remote_args = detail::fleet_remote_args(ctx, req, analyst, description, expression_given);
    const bool to_stdout = ctx.vm.count("write") && ctx.vm["write"].as<std::string>() == "-";
    if (to_stdout && ::isatty(STDOUT_FILENO) == 1 && ctx.out == &std::cout)
        throw usage_error("will not write a capture to a terminal: redirect standard output, or use -w FILE");
    if (ctx.vm.count("write") && !to_stdout) cli::check_caller_may_write(ctx, "--write", ctx.vm["write"].as<std::string>());
    if (ctx.vm.count("dry-run")) return detail::run_fleet_dry_run(ctx, sensors, remote_args, fs);
    remote_args.insert(remote_args.end(), {"-w", "-"});

    const bool manifest = manifest_wanted(ctx, !ctx.vm.count("write"), to_stdout);
    const bool pcapng = req.format && *req.format == output_format::pcapng;
    const std::int64_t started = std::time(nullptr);
    pull_stop_requested.store(false);
    detail::pull_signals signals;
    const mode_t file_mode = ctx.config.file_mode;
    umask_for(file_mode);

    actor who = current_actor();
    record rec;
    rec.set("id", new_capture_id());
    rec.set("kind", "pull");
    rec.set("state", "running");
    rec.set("analyst", analyst);
    rec.set("desc", description);
    rec.set("expr", expression_given);
    if (cli::vlan_wanted(ctx)) rec.set("vlan", "yes");
    if (req.window.has_since) rec.set("since", detail::window_text(req.window, true));
    if (req.window.has_until) rec.set("until", detail::window_text(req.window, false));
    std::string sensor_list;
    for (const auto& s : sensors) sensor_list += (sensor_list.empty() ? "" : std::string(1, archives_separator)) + s;
    rec.set("sensors", sensor_list);
    rec.set("started", format_iso8601(started));
    rec.set("pid", std::to_string(::getpid()));
    rec.set("pstart", std::to_string(process_start_time(::getpid()).value_or(0)));
    rec.set("user", who.sudo_user.empty() ? who.user : who.sudo_user);

    // The output's name is known now; the file is made once the sensors'
    // headers say its timestamp precision.
    std::string out_path, record_path;
    std::optional<gid_t> group;
    if (ctx.vm.count("write") && !to_stdout) {
        out_path = ctx.vm["write"].as<std::string>();
    } else if (!to_stdout) {
        group = prepare_pull_dir(ctx.config.dir, ctx.config.capture_user, ctx.config.capture_group, file_mode);
    }
    rec.set("file", to_stdout ? std::string("-") : out_path);

    record details{{"id", rec.get("id")}, {"analyst", analyst}, {"expr", expression_given}};
    for (const char* k : {"since", "until"})
        if (rec.has(k)) details.set(k, rec.get(k));
    details.set("sensors", group_list_text(sensors));

    fleet_pull fleet(sensors, remote_args, fs);
    const bool terminal = ::isatty(STDERR_FILENO) == 1 && ctx.err == &std::cerr;
    bool shown = false;
    auto last_record = std::chrono::steady_clock::now();
    auto tick = [&] {
        const std::string text = detail::fleet_progress_text(fleet.sensors());
        if (terminal) {
            std::string line = text;
            const std::size_t cols = detail::terminal_columns(STDERR_FILENO);
            if (cols > 1 && line.size() > cols - 1) line.resize(cols - 1);
            *ctx.err << "\r\033[K" << line << std::flush;
            shown = true;
        }
        const auto now = std::chrono::steady_clock::now();
        if (!record_path.empty() && now - last_record >= std::chrono::seconds(1)) {
            last_record = now;
            rec.set("progress", text);
            rec.set("read_bytes", std::to_string(fleet.received()));
            try {
                write_record_file(record_path, rec, file_mode);
            } catch (const error&) {
                // Progress is news, not state: the next second tries again.
            }
        }
    };
    bool interrupted = !fleet.wait_headers(pull_stop_requested, tick);

    writer_options options;
    options.format = pcapng ? output_format::pcapng : output_format::pcap;
    for (const auto* s : fleet.ready()) options.nanoseconds = options.nanoseconds || s->nanoseconds;
    // With a manifest, the output's SHA-256 is made as it is written, on a
    // thread beside the merge's where there is a core to spare (as a
    // local pull's: pull_tool.hpp).
    if (manifest && available_cores() > 1) {
        options.write_behind = true;
        options.write_behind_after = std::uint64_t{8} << 20;
        options.buffer_size = std::size_t{1} << 20;
    }
    detail::running_link link;
    digest_tap output_tap;  // outlives out
    std::optional<capture_writer> out;
    const bool into_dir = !to_stdout && out_path.empty();
    detail::open_pull_output(out, out_path, link, to_stdout, ctx.config.dir, group,
                             {analyst, description, started, pcapng}, options, file_mode);
    if (into_dir) {
        record_path = record_path_for(out_path);
        rec.set("file", out_path);
    }
    if (manifest) out->tap(&output_tap);
    details.set("file", rec.get("file"));
    rec.set("progress", detail::fleet_progress_text(fleet.sensors()));
    if (!record_path.empty()) write_record_file(record_path, rec, file_mode);
    ctx.log("pull", "started", details);
    ctx.attempt = details;

    std::string failure;
    if (!interrupted) {
        try {
            interrupted = !fleet.merge(*out,
                                       [&](const fleet_sensor& s, const interface_info& i) {
                                           return out->add_named_interface(i.linktype, i.snaplen, s.name);
                                       },
                                       pull_stop_requested, tick);
        } catch (const error& e) {
            failure = e.what();
            interrupted = true;  // the others are ended: nothing more can be written
        }
    }
    fleet.finish(interrupted);
    if (terminal && shown) *ctx.err << "\r\033[K" << std::flush;

    std::size_t failed = 0, partial = 0;
    std::uint64_t packets = 0;
    std::optional<timestamp> first, last;
    for (const auto* s : fleet.sensors()) {
        packets += s->packets;
        if (s->first && (!first || detail::key_less({s->first->sec, s->first->nsec, 0, 0}, {first->sec, first->nsec, 0, 0})))
            first = s->first;
        if (s->last && (!last || detail::key_less({last->sec, last->nsec, 0, 0}, {s->last->sec, s->last->nsec, 0, 0})))
            last = s->last;
        if (s->state == "failed") ++failed, ctx.warn(s->name + ": " + s->reason);
        else if (s->state == "partial") ++partial, ctx.warn(s->name + ": " + s->reason);
        for (const auto& line : s->said)
            if (s->state != "failed" && s->state != "partial") ctx.warn(s->name + ": " + line);
    }
    if (failure.empty()) {
        try {
            if (failed == sensors.size() && !to_stdout) {
                out->abandon();
                link.remove();
                failure = "nothing was pulled: every sensor failed, so no capture was made";
            } else {
                out->commit();
                link.published();
            }
        } catch (const error& e) {
            failure = e.what();
        }
    }
    const pull_outcome outcome = pull_outcome_of(!failure.empty(), false, interrupted && failure.empty(),
                                                 failed + partial, sensors.size(), failed, packets);
    rec.set("state", outcome.state);
    rec.set("ended", format_iso8601(std::time(nullptr)));
    rec.set("packets", std::to_string(packets));
    rec.set("bytes", std::to_string(failure.empty() ? out->bytes() : 0));
    rec.set("format", pcapng ? "pcapng" : options.nanoseconds ? "pcap-ns" : "pcap");
    rec.set("read_bytes", std::to_string(fleet.received()));
    rec.set("progress", detail::fleet_progress_text(fleet.sensors()));
    const int digits = options.nanoseconds ? 9 : 6;
    if (first) rec.set("first", detail::iso(*first, digits));
    if (last) rec.set("last", detail::iso(*last, digits));
    if (failed + partial) rec.set("problems", std::to_string(failed + partial));
    if (!failure.empty()) rec.set("reason", failure);
    detail::write_final_pull_record(ctx, record_path, rec, file_mode);
    details.set("packets", rec.get("packets"));
    details.set("bytes", rec.get("bytes"));
    std::string failed_names;
    for (const auto* s : fleet.sensors())
        if (s->state == "failed" || s->state == "partial") failed_names += (failed_names.empty() ? "" : ",") + s->name;
    if (!failed_names.empty()) details.set("failed_sensors", failed_names);
    if (!failure.empty()) details.set("reason", failure);
    ctx.log("pull", outcome.audit, details);
    if (!failure.empty()) throw error(failure);
    bool manifest_failed = false;
    if (manifest && outcome.publish) {
        manifest_request m = pull_manifest_request(rec);
        for (const auto* s : fleet.sensors()) {
            const record r = detail::sensor_record(*s, rec.get("id"), out_path, digits);
            m.sensors.push_back({s->name, s->state, s->reason, r.get("first"), r.get("last"), s->packets, s->received});
        }
        manifest_failed = !publish_manifest(ctx, m, out_path, {}, known_digest_of(*out, output_tap));
    }

    if (!to_stdout) {
        record shown_rec = rec;
        for (const char* k : {"pid", "pstart", "progress"}) shown_rec.erase(k);
        if (ctx.output == output_mode::human) {
            *ctx.out << (interrupted ? "Interrupted: " : "Pulled ") << packets << " packets ("
                     << format_bytes_human(out->bytes()) << ") from " << sensors.size() - failed << " of "
                     << sensors.size() << " sensors into " << out_path << '\n';
            for (const auto* s : fleet.sensors())
                *ctx.out << "  " << s->name << ": " << s->state << ", " << s->packets << " packets"
                         << (s->reason.empty() ? "" : " (" + s->reason + ")") << '\n';
        } else {
            write_record(*ctx.out, shown_rec, ctx.output);
            for (const auto* s : fleet.sensors())
                write_record(*ctx.out, detail::sensor_record(*s, rec.get("id"), out_path, digits), ctx.output);
        }
    }
    return outcome.exit_code || manifest_failed ? exit_failure : exit_ok;
}

}  // namespace capture
