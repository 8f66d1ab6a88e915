// --manifest, --no-manifest and --hash-sources of cap-pull and cap-merge:
// whether to write the provenance manifest (engine/manifest.hpp), and
// writing it beside the output (see cap-manifest(5)).
#pragma once

#include "capture/engine/cli.hpp"
#include "capture/engine/manifest.hpp"
#include "capture/engine/pull_plan.hpp"
#include "capture/text/record.hpp"

#include <optional>
#include <string>
#include <vector>

namespace capture {

/// Declares --manifest, --no-manifest and --hash-sources. by_default says
/// when the manifest is written without --manifest, for --help.
inline void declare_manifest_options(cli::tool& tool, const std::string& by_default) {
    tool.add_options()
        ("manifest", ("write a provenance manifest OUT.manifest.json beside the output" + by_default).c_str())
        ("no-manifest", "write no manifest")
        ("hash-sources", "with the manifest: record the SHA-256 of every source file read (implies --manifest)");
}

/// Whether a manifest is wanted: --manifest or --hash-sources, else
/// default_on unless --no-manifest. Throws usage_error for --manifest with
/// --no-manifest, or for a manifest asked of output on stdout.
inline bool manifest_wanted(const cli::context& ctx, bool default_on, bool to_stdout) {
    const bool asked = ctx.vm.count("manifest") || ctx.vm.count("hash-sources");
    if (asked && ctx.vm.count("no-manifest"))
        throw usage_error("--manifest (or --hash-sources) and --no-manifest exclude each other");
    if (asked && to_stdout) throw usage_error("--manifest: output on standard output has nowhere beside it for one");
    return asked || (default_on && !to_stdout && !ctx.vm.count("no-manifest"));
}

/// Writes the manifest of output_path beside it (with the output's digest
/// known, when its writer's tap made it: known_digest_of()); a failure is
/// said on stderr and returns false (the output itself is good).
inline bool publish_manifest(const cli::context& ctx, manifest_request req, const std::string& output_path,
                             const std::vector<std::string>& sources, const std::optional<known_digest>& known = {}) {
    req.tool = ctx.tool;
    req.command_line = ctx.command_line;
    try {
        write_manifest(make_manifest(req, output_path, sources, ctx.vm.count("hash-sources") > 0,
                                     known ? &*known : nullptr),
                       output_path, ctx.config.file_mode);
        return true;
    } catch (const std::exception& e) {
        ctx.warn(std::string("manifest: ") + e.what());
        return false;
    }
}

/// The request of a pull whose record is rec, as its manifest says it.
inline manifest_request pull_manifest_request(const record& rec) {
    manifest_request m;
    m.analyst = rec.get("analyst");
    m.description = rec.get("desc");
    m.expression = rec.get("expr");
    m.since = rec.get("since");
    m.until = rec.get("until");
    m.state = rec.get("state");
    return m;
}

/// The manifest of a pull whose record is rec, from plan's files. Returns
/// false when it could not be written (said on stderr).
inline bool publish_pull_manifest(const cli::context& ctx, const record& rec, const pull_request& req,
                                  const pull_plan& plan, const std::string& output_path,
                                  const std::optional<known_digest>& known = {}) {
    manifest_request m = pull_manifest_request(rec);
    m.archives = req.archives;
    std::vector<std::string> sources;
    for (const auto& f : plan.files) sources.push_back(f.file.path);
    return publish_manifest(ctx, m, output_path, sources, known);
}

}  // namespace capture
