// cap-ls --verify-audit: checks the hash chain of the local audit log
// (audit_chain.hpp) and says where it breaks (see cap-ls(1)).
#pragma once

#include "capture/engine/cli.hpp"
#include "capture/text/audit_chain.hpp"
#include "capture/text/output.hpp"
#include "capture/text/record.hpp"

#include <string>
#include <vector>

namespace capture {

/// Verifies the files named (oldest first), or with none the configured
/// audit-log and its rotated files (chain_files), against the head beside
/// the log when the newest file given is the log itself. Each break is said
/// on stderr as "FILE:LINE: what"; one record (or line for a person) per
/// file on stdout. Returns exit_ok when the chain holds, exit_failure when
/// it breaks. Throws usage_error when there is neither a file nor an
/// audit-log.
inline int run_verify_audit(cli::context& ctx) {
    const std::string& log_path = ctx.config.audit.chain_path;
    std::vector<std::string> files = ctx.operands;
    bool configured = files.empty();
    if (configured) {
        if (log_path.empty())
            throw usage_error("--verify-audit: no FILE, and no audit-log in the configuration");
        files = chain_files(log_path);
    }
    // The configured files end where the head says, also just after a
    // rotation that left no live log (the head then names .1's last line).
    const std::string head =
        !log_path.empty() && (configured || files.back() == log_path) ? chain_head_path(log_path) : "";
    chain_report report = verify_chain(files, head);
    for (const auto& p : report.problems)
        ctx.warn(p.file + (p.line ? ":" + std::to_string(p.line) : "") + ": " + p.what);
    for (const auto& f : report.files) {
        if (ctx.output == output_mode::human) {
            *ctx.out << f.file << ": " << f.lines << " line(s)";
            if (f.first_seq) *ctx.out << ", seq " << f.first_seq << ".." << f.last_seq;
            *ctx.out << (f.broken ? ": BROKEN" : ": ok") << '\n';
            continue;
        }
        record r;
        r.set("file", f.file);
        r.set("lines", std::to_string(f.lines));
        if (f.first_seq) {
            r.set("first_seq", std::to_string(f.first_seq));
            r.set("last_seq", std::to_string(f.last_seq));
        }
        r.set("chain", f.broken ? "broken" : "ok");
        write_record(*ctx.out, r, ctx.output);
    }
    if (ctx.output == output_mode::human && report.ok())
        *ctx.out << (report.from_genesis ? "chain intact from its first line"
                                         : "chain intact (it continues from lines rotated away)")
                 << (head.empty() ? "" : ", up to the head") << '\n';
    return report.ok() ? exit_ok : exit_failure;
}

}  // namespace capture
