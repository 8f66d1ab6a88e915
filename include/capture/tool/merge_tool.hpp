// cap-merge: merge capture files in timestamp order into one (mergecap for
// this toolkit), named by the convention in the capture directory, or to
// a file or standard output with -w.
#pragma once

#include "capture/tool/manifest_options.hpp"
#include "capture/engine/analyst.hpp"
#include "capture/text/audit.hpp"
#include "capture/pcap/capture_writer.hpp"
#include "capture/engine/cli.hpp"
#include "capture/sys/file_mode.hpp"
#include "capture/pcap/linktype.hpp"
#include "capture/engine/merge.hpp"
#include "capture/text/naming.hpp"
#include "capture/sys/parallel.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

namespace capture {

/// The separator between the names in a merge record's source_files key:
/// a newline, written "\n" in the record line like any newline in a value.
inline constexpr char source_files_separator = '\n';

/// Adds cap-merge's own options to a tool.
inline void add_merge_options(cli::tool& tool) {
    tool.audits("merge");
    namespace po = boost::program_options;
    tool.add_options()
        ("write,w", po::value<std::string>()->value_name("OUT"),
         "write to OUT ('-': standard output) instead of a new file in the capture directory")
        ("analyst,a", po::value<std::string>()->value_name("NAME"),
         "analyst in the file name and record (default: the 'analyst' key, else SUDO_USER, else you)")
        ("description,d", po::value<std::string>()->value_name("TEXT"), "description in the file name and record")
        ("format,F", po::value<std::string>()->value_name("FMT"),
         "pcap or pcapng (default: pcap, or pcapng when the inputs have several link types)")
        ("concat,C", "concatenate in input order instead of merging by time (mergecap -a)")
        ("mergecap-order", "on equal timestamps put the later input first, as mergecap 4.0 does")
        ("max-open", po::value<int>()->value_name("N")->default_value(8192),
         "inputs mapped at once at most; more are merged in a tree");
    declare_manifest_options(tool, "");
}

namespace detail {

inline std::string merge_analyst(const cli::context& ctx) {
    if (ctx.vm.count("analyst")) return ctx.vm["analyst"].as<std::string>();
    return default_analyst(ctx.config);
}

// "EN10MB (in a.pcap), LINUX_SLL (in b.pcap)": where each link type first appears.
inline std::string linktypes_by_file(const merge_plan& plan) {
    std::string out;
    for (std::uint32_t lt : plan.linktypes) {
        for (const auto& in : plan.inputs) {
            bool has = false;
            for (const auto& f : in.interfaces) has = has || f.linktype == lt;
            if (!has) continue;
            std::string_view name = linktype_name(lt);
            if (!out.empty()) out += ", ";
            out += (name.empty() ? std::to_string(lt) : std::string(name)) + " in " + in.path;
            break;
        }
    }
    return out;
}

}  // namespace detail

/// Runs cap-merge over ctx's inputs; returns the exit code. Throws
/// usage_error for bad options (exit 2), error when the output cannot be
/// written.
inline int run_merge(cli::context& ctx) {
    // What a refused or failed merge's audit line says of it (tool::audits).
    ctx.attempt.set("analyst", detail::merge_analyst(ctx));
    if (ctx.vm.count("write")) ctx.attempt.set("file", ctx.vm["write"].as<std::string>());
    // Everything about the command line is checked before any input is read.
    std::optional<output_format> wanted;
    if (ctx.vm.count("format")) {
        std::string f = ctx.vm["format"].as<std::string>();
        if (f == "pcap") wanted = output_format::pcap;
        else if (f == "pcapng") wanted = output_format::pcapng;
        else throw usage_error("--format: '" + f + "' is neither pcap nor pcapng");
    }
    int max_open = ctx.vm["max-open"].as<int>();
    if (max_open < 2 || max_open > 65536) throw usage_error("--max-open: " + std::to_string(max_open) +
                                                             " is not between 2 and 65536");
    const bool to_stdout = ctx.vm.count("write") && ctx.vm["write"].as<std::string>() == "-";
    if (to_stdout && ::isatty(STDOUT_FILENO) == 1)
        throw usage_error("refusing to write a binary capture to a terminal (redirect or pipe -w -)");
    if (ctx.vm.count("write") && ctx.vm["write"].as<std::string>().empty()) throw usage_error("--write: empty name");
    if (ctx.vm.count("write") && !to_stdout) cli::check_caller_may_write(ctx, "--write", ctx.vm["write"].as<std::string>());
    const bool manifest = manifest_wanted(ctx, false, to_stdout);
    const std::string analyst = detail::merge_analyst(ctx);
    const std::string description = ctx.vm.count("description") ? ctx.vm["description"].as<std::string>() : "";

    std::vector<std::string> paths;
    bool missing_file = false;
    bool inputs_ok = cli::for_each_input(ctx, [&](record& r) {
        const std::string* file = r.find("file");
        if (!file || file->empty()) {
            ctx.warn("record without a file key: " + format_record(r));
            missing_file = true;
            return;
        }
        paths.push_back(*file);
    });
    inputs_ok = inputs_ok && !missing_file;
    if (paths.empty()) return inputs_ok ? exit_ok : exit_failure;  // empty input: nothing to do, as a filter

    merge_plan plan = plan_merge(paths);
    for (const auto& f : plan.failures) ctx.warn(f);
    bool failed = !plan.failures.empty() || !inputs_ok;
    if (plan.inputs.empty()) {
        ctx.log("merge", "failed", record{{"analyst", analyst}, {"sources", "0"}, {"error", "no readable input"}});
        ctx.warn("nothing merged: no input could be read");
        return exit_failure;
    }

    output_format format = plan.linktypes.size() > 1 ? output_format::pcapng : output_format::pcap;
    if (wanted) format = *wanted;
    if (format == output_format::pcap && plan.linktypes.size() > 1) {
        std::string why = "cannot write pcap: the inputs have " + std::to_string(plan.linktypes.size()) +
                          " link types (" + detail::linktypes_by_file(plan) +
                          ") and a pcap file holds one; use -F pcapng";
        ctx.log("merge", "failed", record{{"analyst", analyst}, {"error", why}});
        throw error(why);
    }

    writer_options options;
    options.format = format;
    options.nanoseconds = plan.nanoseconds;
    // The output is about as large as the inputs together (a record's header
    // is 16 bytes in pcap, 32 and padding in pcapng): reserved at once.
    for (const auto& in : plan.inputs) options.preallocate += in.bytes;
    // With a core to spare, the kernel's copy of each full buffer into the
    // page cache (half the time of a merge) overlaps the merge itself
    // (write_behind.hpp). The buffers then grow to 1 MiB: fewer hand-overs
    // between the cores measured faster (bench_merge: 256 KiB 0.31-0.34 s,
    // 1 MiB 0.29-0.33 s, one thread 0.35-0.41 s).
    if (available_cores() > 1) {
        options.write_behind = true;
        options.buffer_size = std::size_t{1} << 20;
    }
    merge_settings settings;
    settings.concatenate = ctx.vm.count("concat") > 0;
    settings.max_open = static_cast<std::size_t>(max_open);
    settings.later_input_first = ctx.vm.count("mergecap-order") > 0;

    // What is written gets the configured file mode, whatever the umask.
    const mode_t file_mode = ctx.config.file_mode;
    umask_for(file_mode);
    std::string out_path;
    digest_tap output_tap;  // the output's digest for the manifest, made as it is written; outlives out
    capture_writer out = [&] {
        if (to_stdout) {
            const char* tmp = std::getenv("TMPDIR");
            settings.temp_dir = tmp && *tmp ? tmp : "/tmp";
            return capture_writer::to_stdout(options);
        }
        if (ctx.vm.count("write")) {
            out_path = ctx.vm["write"].as<std::string>();
        } else {
            const std::string& dir = ctx.config.dir;
            make_directory_for(dir, file_mode);
            // A name of ours never replaces what is there (another capture, or
            // a link someone planted): the next free one is taken, as cap-pull
            // and cap-start do; publishing by link() refuses one taken meanwhile.
            const std::string desc = description.empty() ? "merge" : description;
            const auto now = static_cast<std::int64_t>(std::time(nullptr));
            for (int n = 1;; ++n) {
                out_path = dir + "/" + capture_file_name(analyst, numbered_description(desc, n), now, capture_kind::merge,
                                                         format == output_format::pcapng);
                struct stat st {};
                if (::lstat(out_path.c_str(), &st) != 0) break;  // free (or unreadable: creating it will say)
                if (n >= max_name_attempts) throw error(out_path + ": File exists");
            }
            options.replace = false;
        }
        auto slash = out_path.rfind('/');
        settings.temp_dir = slash == std::string::npos ? "." : slash == 0 ? "/" : out_path.substr(0, slash);
        return capture_writer::to_file(out_path, options);
    }();
    if (!out.temp_path().empty()) set_file_mode(out.temp_path(), file_mode);
    // Only the output's own writer is tapped: a tree merge's part files
    // are other writers, and the last pass writes the output front to back.
    if (manifest) out.tap(&output_tap);

    merge_result result;
    std::string failure;
    try {
        result = merge_captures(plan, out, settings);
        out.commit();
    } catch (const std::exception& e) {
        // A full disk: what reached the file is kept, valid, and the
        // record says the merge failed; with nothing to keep, it is gone.
        failure = e.what();
        try {
            result.packets = out.keep_written();
        } catch (const std::exception&) {
            ctx.log("merge", "failed", record{{"analyst", analyst}, {"file", out.path()}, {"error", failure}});
            throw error(failure);
        }
    }
    for (const auto& f : result.failures) ctx.warn(f);
    failed = failed || !result.failures.empty() || !failure.empty();
    if (!failure.empty()) {
        ctx.warn(failure);
        ctx.warn(out.path() + ": kept the " + std::to_string(result.packets) +
                 " packets written before the failure (a valid capture, cut short)");
    }

    std::string names;
    for (const auto& in : plan.inputs) {
        if (!names.empty()) names += source_files_separator;
        names += in.path;
    }
    const char* format_label = format == output_format::pcapng ? "pcapng" : plan.nanoseconds ? "pcap-ns" : "pcap";
    record rec;
    rec.set("kind", "file");
    if (!failure.empty()) rec.set("state", "failed");
    rec.set("analyst", analyst);
    rec.set("file", out.path());
    if (!description.empty()) rec.set("desc", description);
    rec.set("packets", std::to_string(result.packets));
    rec.set("bytes", std::to_string(out.bytes()));
    rec.set("format", format_label);
    rec.set("sources", std::to_string(plan.inputs.size()));
    rec.set("source_files", names);
    if (!failure.empty()) rec.set("reason", failure);

    record details{{"analyst", analyst},
                   {"file", out.path()},
                   {"sources", std::to_string(plan.inputs.size())},
                   {"packets", std::to_string(result.packets)}};
    if (failed) details.set("failed_inputs", std::to_string(plan.failures.size() + result.failures.size()));
    if (!failure.empty()) details.set("error", failure);
    ctx.log("merge", !failure.empty() ? "failed" : failed ? "partial" : "ok", details);

    if (manifest) {
        manifest_request m;
        m.analyst = analyst;
        m.description = description;
        if (!failure.empty()) m.state = "failed";
        std::vector<std::string> sources;
        for (const auto& in : plan.inputs) sources.push_back(in.path);
        failed = !publish_manifest(ctx, m, out.path(), sources, known_digest_of(out, output_tap)) || failed;
    }
    if (!to_stdout) {
        if (ctx.output == output_mode::human) {
            *ctx.out << (failure.empty() ? "Merged " : "Failed part way, kept from ") << plan.inputs.size() << " file" << (plan.inputs.size() == 1 ? "" : "s") << ", "
                     << result.packets << " packets (" << format_bytes_human(out.bytes()) << ") into "
                     << out.path() << '\n';
        } else {
            write_record(*ctx.out, rec, ctx.output);
        }
    }
    return failed ? exit_failure : exit_ok;
}

}  // namespace capture
