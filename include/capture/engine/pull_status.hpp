// What a pull's record, exit status and audit line say about it: its end
// (one answer for all three), and, while it runs, how far it got in bytes
// and when it should be done.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace capture {

/// How a pull ended, as its record (state), its audit line (outcome) and
/// its exit status say it, and whether its file is published.
struct pull_outcome {
    std::string state;     ///< done, partial, interrupted, failed
    std::string audit;     ///< ok, partial, interrupted, failed
    bool publish = true;   ///< the capture stands under its final name
    bool nothing_read = false;  ///< every source failed: there is no capture at all
    int exit_code = 0;     ///< 0 or 1
};

/// The end of a pull. write_failed: the output could not be written (kept:
/// what was written before is kept); problems: files skipped or not read
/// to their end; files_planned: files selected; files_failed: those of
/// them that broke; packets: packets written. A pull whose every source
/// failed (there were problems, and no selected file was read without
/// one, and no packet came of it) read nothing: it is failed, and not
/// published, so an empty file never looks like a finished pull. Throws
/// nothing but std::bad_alloc.
inline pull_outcome pull_outcome_of(bool write_failed, bool kept, bool interrupted, std::size_t problems,
                                    std::size_t files_planned, std::size_t files_failed, std::uint64_t packets) {
    pull_outcome o;
    if (write_failed) {
        o.state = o.audit = "failed";
        o.publish = kept;
    } else if (problems > 0 && packets == 0 && files_failed >= files_planned) {
        o.state = o.audit = "failed";
        o.publish = false;
        o.nothing_read = true;
    } else if (interrupted) {
        o.state = o.audit = "interrupted";
    } else if (problems > 0) {
        o.state = o.audit = "partial";
    } else {
        o.state = "done";
        o.audit = "ok";
    }
    o.exit_code = o.state == "done" ? 0 : 1;
    return o;
}

/// How far a running pull got, in bytes.
struct pull_figures {
    std::uint64_t read = 0;   ///< bytes walked (never more than total)
    std::uint64_t total = 0;  ///< bytes of the files selected
    double rate = 0;          ///< bytes per second so far (0: not known yet)
    double eta = -1;          ///< seconds left (negative: not known yet)
    int percent = 0;          ///< 0..100
};

/// The figures of a pull that has read read of total bytes in seconds.
/// Throws nothing.
inline pull_figures pull_figures_of(std::uint64_t read, std::uint64_t total, double seconds) noexcept {
    pull_figures f;
    // A file read again (cut short under the walk) counts twice: the
    // figures never say more than all of it.
    f.total = total;
    f.read = read < total ? read : total;
    f.percent = total ? static_cast<int>(static_cast<double>(f.read) * 100.0 / static_cast<double>(total)) : 100;
    if (seconds > 0 && f.read > 0) {
        f.rate = static_cast<double>(f.read) / seconds;
        f.eta = static_cast<double>(f.total - f.read) / f.rate;
    }
    return f;
}

/// A time left for people, short enough for a column: "45s", "3m05s",
/// "2h03m", "4d02h"; "-" when not known (negative). Throws nothing but
/// std::bad_alloc.
inline std::string format_eta(double seconds) {
    if (!(seconds >= 0)) return "-";
    const auto s = static_cast<long long>(seconds + 0.5);
    char buf[32];
    if (s < 60) std::snprintf(buf, sizeof buf, "%llds", s);
    else if (s < 3600) std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400) std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s / 60 % 60);
    else std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, s / 3600 % 24);
    return buf;
}

}  // namespace capture
