// cap-pull --from-alert: one pull per alert (or one for all, --merge), the
// alerts read from Suricata's EVE JSON, Zeek's conn and notice logs or our
// own records (text/alerts.hpp), pulled in groups that read each archive
// file once (engine/alert_pull.hpp). See cap-pull(1), "PULLING FROM ALERTS".
#pragma once

#include "capture/engine/alert_pull.hpp"
#include "capture/engine/cli.hpp"
#include "capture/engine/registry.hpp"
#include "capture/text/alerts.hpp"
#include "capture/tool/pull_progress.hpp"
#include "capture/tool/pull_tool.hpp"

#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace capture {

/// Declares the options of pulls from alerts on tool (after cap-pull's own).
inline void declare_alert_pull_options(cli::tool& tool) {
    namespace po = boost::program_options;
    tool.add_options()
        ("from-alert", po::value<std::string>()->value_name("FILE"),
         "pull the flow of each alert in FILE ('-': standard input): Suricata EVE JSON, Zeek conn/notice logs, records")
        ("margin", po::value<std::string>()->value_name("DUR[,DUR]"),
         "with --from-alert: time before and after each alert's flow (default: the 'alert-margin' key, else 5m)")
        ("merge", "with --from-alert: one capture for all the alerts, not one each");
}

namespace detail {

// One output of an alert pull: its writer, the link at its name while it
// is made, its digest, its record, what it holds and where it came from.
struct alert_pull_output {
    std::optional<capture_writer> writer;
    running_link link;
    digest_tap tap;  // the SHA-256 of what is written, for the manifest
    alert_output split;
    std::string path, record_path;
    record rec;
    std::vector<std::size_t> jobs;    // the jobs it holds
    std::vector<std::size_t> groups;  // the groups whose files it drew from
    std::size_t files_done = 0, files_total = 0;
    std::uint64_t read_bytes = 0, total_bytes = 0;
};

// The captures a group's reading makes: its alerts' own, and the merge of
// all of them when there is one.
inline std::vector<alert_pull_output*> capture_pointers(const std::vector<std::unique_ptr<alert_pull_output>>& outs,
                                                        const std::unique_ptr<alert_pull_output>& merged) {
    std::vector<alert_pull_output*> all;
    for (const auto& o : outs) all.push_back(o.get());
    if (merged) all.push_back(merged.get());
    return all;
}

// The values of key over the jobs, distinct, in order, joined by the
// separator the archives key uses (a newline).
inline std::string alert_values(const std::vector<alert_job>& jobs, const std::vector<std::size_t>& which,
                                std::string flow_alert::*member) {
    std::vector<std::string> seen;
    std::string out;
    for (std::size_t i : which) {
        const std::string& v = jobs[i].alert.*member;
        if (v.empty() || std::find(seen.begin(), seen.end(), v) != seen.end()) continue;
        seen.push_back(v);
        out += (out.empty() ? "" : std::string(1, archives_separator)) + v;
    }
    return out;
}

// Reads the alerts of the input into jobs; bad lines are said with their
// line number and counted.
inline std::size_t read_alert_jobs(cli::context& ctx, std::istream& in, const std::string& name,
                                   const alert_margin& margin, bool vlan, std::vector<alert_job>& jobs) {
    std::size_t bad = 0;
    alert_reader reader(in, name);
    const std::int64_t now = std::time(nullptr);
    for (;;) {
        flow_alert a;
        try {
            if (!reader.next(a)) break;
            alert_job j = make_alert_job(std::move(a), margin, vlan, now);
            if (j.window.empty()) throw usage_error("the window is empty");
            check_expression(j.compiled, {1, 101, 113, 276, 105, 127});
            jobs.push_back(std::move(j));
        } catch (const alert_error& e) {
            ctx.warn(e.what());
            ++bad;
        } catch (const usage_error& e) {  // a time or an expression: named with its line
            ctx.warn(name + ":" + std::to_string(reader.line_number()) + ": " + e.what());
            ++bad;
        }
    }
    return bad;
}

}  // namespace detail

/// Runs cap-pull --from-alert; returns the exit code.
inline int run_alert_pull_tool(cli::context& ctx) {
    const auto& vm = ctx.vm;
    // A refusal is logged with what was asked (cli.hpp's log_unfinished).
    detail::note_pull_attempt(ctx);
    ctx.attempt.set("from_alert", vm["from-alert"].as<std::string>());
    for (const char* o : {"expression", "since", "until", "dry-run"})
        if (vm.count(o)) throw usage_error(std::string("--from-alert takes each alert's expression and window: not --") + o);
    if (!ctx.operands.empty()) throw usage_error("--from-alert takes no expression operands");
    const bool merge = vm.count("merge") > 0;
    if (vm.count("write") && !merge) throw usage_error("-w names one capture: use it with --merge");
    std::vector<std::string> archives =
        vm.count("archive") ? vm["archive"].as<std::vector<std::string>>() : ctx.config.archives;
    if (archives.empty())
        throw usage_error("no archive to pull from: name a directory with -r DIR, or set 'archive' in the configuration");
    const alert_margin margin = parse_alert_margin(
        vm.count("margin") ? vm["margin"].as<std::string>() : ctx.config.alert_margin, "--margin");
    // An alert's flow is matched tagged or not, unless told otherwise: the
    // IDS names the flow, not the tag it travelled under.
    if (vm.count("vlan") && vm.count("no-vlan")) throw usage_error("--vlan and --no-vlan exclude each other");
    const bool vlan = !vm.count("no-vlan");
    std::optional<output_format> forced;
    if (vm.count("format")) {
        std::string f = vm["format"].as<std::string>();
        if (f == "pcap") forced = output_format::pcap;
        else if (f == "pcapng") forced = output_format::pcapng;
        else throw usage_error("--format: '" + f + "' is not pcap or pcapng");
    }
    const bool to_stdout = vm.count("write") && vm["write"].as<std::string>() == "-";
    if (to_stdout && ::isatty(STDOUT_FILENO) == 1 && ctx.out == &std::cout)
        throw usage_error("will not write a capture to a terminal: redirect standard output, or use -w FILE");
    if (vm.count("write") && !to_stdout) cli::check_caller_may_write(ctx, "--write", vm["write"].as<std::string>());
    const bool manifest = manifest_wanted(ctx, !vm.count("write"), to_stdout);
    const unsigned jobs_wanted = cli::jobs(ctx);

    // The alerts.
    const std::string source = vm["from-alert"].as<std::string>();
    std::vector<alert_job> jobs;
    std::size_t bad;
    if (source == "-") {
        bad = detail::read_alert_jobs(ctx, *ctx.in, "standard input", margin, vlan, jobs);
    } else {
        cli::check_caller_may_read(ctx, "--from-alert", source);
        std::ifstream in(source);
        if (!in) throw usage_error(system_failure(source).what());
        bad = detail::read_alert_jobs(ctx, in, source, margin, vlan, jobs);
    }
    if (jobs.empty()) return bad ? exit_failure : exit_ok;

    // The groups, each planned.
    const std::string analyst = detail::pull_analyst(ctx);
    const std::int64_t started = std::time(nullptr);
    archive_scan scan = scan_archives(archives);
    std::vector<alert_group> groups = group_alert_jobs(jobs, scan, vlan);
    std::vector<pull_request> requests;
    std::vector<pull_plan> plans;
    std::vector<std::uint32_t> linktypes;
    std::size_t problems = 0;
    for (const auto& g : groups) {
        pull_request req;
        req.archives = archives;
        req.window = g.window;
        req.expression = g.expression;
        req.jobs = jobs_wanted;
        req.format = forced;
        plans.push_back(plan_pull(req));
        requests.push_back(std::move(req));
        for (auto lt : plans.back().linktypes)
            if (std::find(linktypes.begin(), linktypes.end(), lt) == linktypes.end()) linktypes.push_back(lt);
    }
    std::vector<std::string> said;  // an archive's problem once, not once per group
    for (const auto& plan : plans)
        for (const auto& p : plan.problems)
            if (std::find(said.begin(), said.end(), p) == said.end()) {
                said.push_back(p);
                ctx.warn(p);
                ++problems;
            }
    if (merge && forced == output_format::pcap && linktypes.size() > 1)
        throw usage_error("cannot write pcap: the files of the windows have " + std::to_string(linktypes.size()) +
                          " link types and a pcap file holds one; use -F pcapng");

    pull_stop_requested.store(false);
    detail::pull_signals signals;
    const mode_t file_mode = ctx.config.file_mode;
    umask_for(file_mode);
    const std::string& dir = ctx.config.dir;
    // The captures of the alerts go where a pull's does, made as a pull
    // makes it; the group's own hidden capture is always put there.
    const bool into_dir = !vm.count("write");
    std::optional<gid_t> file_group;
    if (into_dir) file_group = prepare_pull_dir(dir, ctx.config.capture_user, ctx.config.capture_group, file_mode);
    else make_directory_for(dir, file_mode);
    const std::string description_given = vm.count("description") ? vm["description"].as<std::string>() : "";
    const actor who = current_actor();
    std::mutex rec_mutex;  // the records, which the progress thread writes while a group is read

    // The progress keys of o's record as it starts reading a group's files.
    auto begin_group = [&](detail::alert_pull_output& o, std::size_t g) {
        o.groups.push_back(g);
        o.files_total += plans[g].files.size();
        o.total_bytes += plans[g].bytes;
        record& r = o.rec;
        r.set("files_total", std::to_string(o.files_total));
        r.set("progress", "starting, " + std::to_string(o.files_done) + "/" + std::to_string(o.files_total) + " files");
        r.set("read_bytes", std::to_string(o.read_bytes));
        r.set("total_bytes", std::to_string(o.total_bytes));
    };

    // A new output: its writer at a free name held by a link to it while it
    // is made (or at -w), its record (with the progress of group g's files,
    // unless it is the merge of all the groups).
    auto open_output = [&](detail::alert_pull_output& o, const std::string& description, output_format format,
                           bool nanoseconds, std::optional<std::size_t> g) {
        writer_options options;
        options.format = format;
        options.nanoseconds = nanoseconds;
        if (vm.count("write") && !to_stdout) o.path = vm["write"].as<std::string>();
        detail::open_pull_output(o.writer, o.path, o.link, to_stdout, dir, file_group,
                                 {analyst, description, started, format == output_format::pcapng}, options, file_mode);
        if (to_stdout) o.path = "-";
        if (into_dir) o.record_path = record_path_for(o.path);
        if (manifest) o.writer->tap(&o.tap);
        o.split.out = &*o.writer;
        record& r = o.rec;
        r.set("id", new_capture_id());
        r.set("kind", "pull");
        r.set("state", "running");
        r.set("analyst", analyst);
        r.set("file", o.path);
        r.set("desc", description);
        std::string expr;
        if (o.jobs.size() == 1) expr = jobs[o.jobs.front()].expression;
        else
            for (std::size_t i : o.jobs) expr += (expr.empty() ? "(" : " or (") + jobs[i].expression + ")";
        r.set("expr", expr);
        if (vlan) r.set("vlan", "yes");
        timestamp since{time_max, 0}, until{time_min, 0};
        for (std::size_t i : o.jobs) {
            since = std::min(since, jobs[i].window.since);
            until = std::max(until, jobs[i].window.until);
        }
        r.set("since", detail::iso(since));
        r.set("until", detail::iso(until));
        std::string archives_text;
        for (const auto& a : archives)
            archives_text += (archives_text.empty() ? "" : std::string(1, archives_separator)) + a;
        r.set("archives", archives_text);
        r.set("started", format_iso8601(started));
        r.set("pid", std::to_string(::getpid()));
        r.set("pstart", std::to_string(process_start_time(::getpid()).value_or(0)));
        r.set("user", who.sudo_user.empty() ? who.user : who.sudo_user);
        if (o.jobs.size() > 1) r.set("alerts", std::to_string(o.jobs.size()));
        if (auto v = detail::alert_values(jobs, o.jobs, &flow_alert::alert_id); !v.empty()) r.set("alert_id", v);
        if (auto v = detail::alert_values(jobs, o.jobs, &flow_alert::signature); !v.empty()) r.set("signature", v);
        if (auto v = detail::alert_values(jobs, o.jobs, &flow_alert::uid); !v.empty()) r.set("uid", v);
        if (g) begin_group(o, *g);
        if (!o.record_path.empty()) write_record_file(o.record_path, r, file_mode);
        record details{{"id", r.get("id")}, {"analyst", analyst}, {"file", o.path}, {"expr", expr}};
        for (const char* k : {"since", "until", "alert_id", "signature", "uid"})
            if (r.has(k)) details.set(k, r.get(k));
        ctx.log("pull", "started", details);
    };

    bool failed = false;
    std::ostringstream told;  // the lines of the outputs closed, not yet said
    // Publishes an output and its manifest, and says what it holds.
    auto close_output = [&](detail::alert_pull_output& o, const std::string& failure, bool interrupted) {
        std::string why = failure;
        if (why.empty()) {
            try {
                o.writer->commit();
                o.link.published();
            } catch (const std::exception& e) {
                why = e.what();
                o.link.remove();
            }
        } else {
            o.writer->abandon();
            o.link.remove();
        }
        record& r = o.rec;
        const std::string state = !why.empty() ? "failed" : interrupted ? "interrupted" : "done";
        r.set("state", state);
        r.set("ended", format_iso8601(std::time(nullptr)));
        r.set("progress", state + ", " + std::to_string(o.files_done) + "/" + std::to_string(o.files_total) + " files");
        r.set("files_done", std::to_string(o.files_done));
        r.set("read_bytes", std::to_string(o.read_bytes));
        r.erase("eta");
        r.set("packets", std::to_string(why.empty() ? o.split.packets : 0));
        r.set("bytes", std::to_string(why.empty() ? o.writer->bytes() : 0));
        const bool pcapng = o.writer->options().format == output_format::pcapng;
        r.set("format", pcapng ? "pcapng" : o.writer->options().nanoseconds ? "pcap-ns" : "pcap");
        const int digits = o.writer->options().nanoseconds ? 9 : 6;
        if (o.split.first) r.set("first", detail::iso(*o.split.first, digits));
        if (o.split.last) r.set("last", detail::iso(*o.split.last, digits));
        if (!why.empty()) r.set("reason", why);
        detail::write_final_pull_record(ctx, o.record_path, r, file_mode);
        record details{{"id", r.get("id")}, {"analyst", analyst}, {"file", o.path}};
        for (const char* k : {"alert_id", "signature", "uid", "packets", "bytes", "reason"})
            if (r.has(k)) details.set(k, r.get(k));
        ctx.log("pull", state == "done" ? "ok" : state, details);
        if (!why.empty()) {
            ctx.warn(why);
            failed = true;
            return;
        }
        if (manifest) {
            manifest_request m = pull_manifest_request(r);
            m.archives = archives;
            for (std::size_t i : o.jobs) {
                const alert_job& j = jobs[i];
                m.alerts.push_back({j.alert.alert_id, j.alert.signature, j.alert.uid, j.expression,
                                    detail::iso(j.window.since), detail::iso(j.window.until)});
            }
            std::vector<std::string> sources;
            std::set<std::string> listed;  // a file once, should two groups have read it
            for (std::size_t g : o.groups)
                for (const auto& f : plans[g].files)
                    if (listed.insert(f.file.path).second) sources.push_back(f.file.path);
            if (!publish_manifest(ctx, m, o.path, sources, known_digest_of(*o.writer, o.tap))) failed = true;
        }
        if (to_stdout) return;
        record shown = r;
        for (const char* k : {"pid", "pstart"}) shown.erase(k);
        if (ctx.output == output_mode::human)
            told << (interrupted ? "Interrupted: " : "Pulled ") << o.split.packets << " packets ("
                 << format_bytes_human(o.writer->bytes()) << ") for " << r.get("desc") << " into " << o.path << '\n';
        else
            write_record(told, shown, ctx.output);
    };
    // What the outputs closed hold, said once all of them are closed: a
    // reader that goes away (`| head`) ends the pull with SIGPIPE, as any
    // filter, but between groups, never with a capture half published.
    auto tell = [&] {
        *ctx.out << told.str() << std::flush;
        told.str("");
    };

    // With --merge, one output for every group, declared for all of them.
    std::unique_ptr<detail::alert_pull_output> merged;
    if (merge) {
        merged = std::make_unique<detail::alert_pull_output>();
        for (std::size_t i = 0; i < jobs.size(); ++i) merged->jobs.push_back(i);
        bool ns = false;
        for (const auto& p : plans) ns = ns || p.nanoseconds;
        output_format format = forced ? *forced : linktypes.size() > 1 ? output_format::pcapng : output_format::pcap;
        std::string description = description_given.empty()
                                      ? std::to_string(jobs.size()) + " alerts from " + (source == "-" ? "stdin" : source)
                                      : description_given;
        open_output(*merged, description, format, ns, std::nullopt);
        for (const auto& p : plans) declare_pull_interfaces(p, *merged->writer);
    }

    bool interrupted = false;
    for (std::size_t g = 0; g < groups.size() && !interrupted; ++g) {
        const alert_group& group = groups[g];
        const pull_plan& plan = plans[g];
        std::vector<std::unique_ptr<detail::alert_pull_output>> outs;
        std::vector<alert_output*> targets;
        for (std::size_t i : group.jobs) {
            if (merged) {
                targets.push_back(&merged->split);
                continue;
            }
            outs.push_back(std::make_unique<detail::alert_pull_output>());
            outs.back()->jobs = {i};
            open_output(*outs.back(), description_given.empty() ? jobs[i].description : description_given,
                        plan.format, plan.nanoseconds, g);
            declare_pull_interfaces(plan, *outs.back()->writer);
            targets.push_back(&outs.back()->split);
        }
        // The records that show how far the reading got: the group's, after
        // what earlier groups read for the same capture.
        if (merged) {
            begin_group(*merged, g);
            if (!merged->record_path.empty()) write_record_file(merged->record_path, merged->rec, file_mode);
        }
        std::vector<detail::progress_target> shown;
        for (detail::alert_pull_output* o : detail::capture_pointers(outs, merged))
            shown.push_back({o->record_path, &o->rec, false, o->files_done, o->files_total, o->read_bytes,
                             o->total_bytes});
        if (plan.files.empty())
            ctx.warn(std::to_string(group.jobs.size()) + " alert(s) from " + detail::iso(group.window.since) +
                     ": no file of the archive covers the window: the capture will be empty");
        // The group's traffic, read once, into a hidden capture beside the
        // outputs; split from there.
        std::string failure;
        try {
            writer_options options;
            options.format = plan.format;
            options.nanoseconds = plan.nanoseconds;
            capture_writer all = capture_writer::to_file(
                dir + "/" + capture_file_name(analyst, "alert group", started, capture_kind::pull,
                                              plan.format == output_format::pcapng),
                options);
            pull_progress progress;
            pull_result result;
            {
                detail::progress_reporter reporter(ctx, progress, shown, rec_mutex);
                result = run_pull(plan, requests[g], all, progress, pull_stop_requested);
            }
            for (detail::alert_pull_output* o : detail::capture_pointers(outs, merged)) {
                o->files_done += progress.files_done.load();
                o->read_bytes += progress.bytes_read.load();
            }
            for (const auto& f : result.failures) {
                ctx.warn(f);
                ++problems;
            }
            all.flush();
            split_alert_matches(all.temp_path(), group, jobs, targets, pull_stop_requested);
            all.abandon();
            interrupted = result.interrupted || pull_stop_requested.load();
        } catch (const std::exception& e) {
            failure = e.what();
        }
        for (auto& o : outs) close_output(*o, failure, interrupted);
        tell();
        if (merged && !failure.empty()) {
            close_output(*merged, failure, interrupted);
            merged.reset();
            break;
        }
    }
    if (merged) close_output(*merged, "", interrupted);
    tell();
    return bad || problems || failed || interrupted ? exit_failure : exit_ok;
}

/// cap-pull's body: a pull from alerts when --from-alert is given, else
/// the pull of one expression. Returns the exit code.
inline int run_pull_or_alerts(cli::context& ctx) {
    return ctx.vm.count("from-alert") ? run_alert_pull_tool(ctx) : run_pull_tool(ctx);
}

}  // namespace capture
