// The tamper-evident local audit log (capture.conf's audit-log key): an
// append-only file in which every line carries the SHA-256 of the line
// before, a hash chain as in RFC 5848's signed syslog, without its
// transport. A line deleted, altered or moved is found by verify_chain.
//
// A line is "seq=N time=T tool=cap-xxx pid=P MESSAGE prev=HEX": N counts
// lines from the chain's first (1), across rotated files; MESSAGE is the
// syslog audit message (audit_message); HEX is the SHA-256 of the whole line
// before (without its newline), 64 zeros for the chain's first line.
//
// Beside PATH lives PATH.head, which holds "N HEX": the seq and hash of the
// last line written. It is the lock every writer takes (flock) around
// read-head + append + write-head, so that writers in many shells lose no
// line and never fork the chain; it is never rotated, so it survives
// logrotate's create-mode rotation (rename PATH, create an empty PATH): the
// first line of the new file links to the last of the old. And it lets the
// verifier see lines removed from the end of the newest file, which a chain
// alone cannot. The head is authoritative: were the writer to take the last
// line of PATH instead, deleting the last line would be silently healed by
// the next writer; only when the head is missing or unreadable does it fall
// back to PATH's last line.
//
// Tamper-evident, not tamper-proof: whoever may write both files can
// recompute the chain. Ship the lines to syslog as well (the default), or
// copy the head's hash elsewhere from time to time, to anchor it.
#pragma once

#include "capture/sys/digest.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"
#include "capture/sys/time_format.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace capture {

/// The prev= of a chain's first line.
inline const std::string chain_genesis(64, '0');

/// The seq and hash of one line of the chain: where the next line links.
struct chain_head {
    std::uint64_t seq = 0;            ///< 0: nothing written yet
    std::string hash = chain_genesis; ///< SHA-256 hex of the line
};

/// The SHA-256 hex of one line (without its newline). Throws error with
/// OpenSSL's words.
inline std::string chain_hash(std::string_view line) {
    static const digest_algorithm sha256("sha256");
    return hex_digest(line, sha256.md());
}

/// The file that holds PATH's head and serves as its lock.
inline std::string chain_head_path(const std::string& log_path) { return log_path + ".head"; }

/// The line after head: "seq=N time=T tool=TOOL pid=P MESSAGE prev=HEX".
inline std::string chain_line(const chain_head& head, std::int64_t time, std::string_view tool, long pid,
                              std::string_view message) {
    return "seq=" + std::to_string(head.seq + 1) + " time=" + format_iso8601(time) + " tool=" + std::string(tool) +
           " pid=" + std::to_string(pid) + " " + std::string(message) + " prev=" + head.hash;
}

/// What verification reads of a line: its seq and the hash it links to.
struct chain_link {
    std::uint64_t seq = 0;
    std::string prev;
};

/// The seq= and prev= of a chained line, or nothing when line is not one.
/// Throws nothing but std::bad_alloc.
inline std::optional<chain_link> parse_chain_line(std::string_view line) {
    static constexpr std::string_view seq_key = "seq=", prev_key = " prev=";
    if (line.substr(0, seq_key.size()) != seq_key) return std::nullopt;
    // Every value in the message is quoted when it holds '=' or a space, so
    // the last " prev=" is ours.
    auto at = line.rfind(prev_key);
    if (at == std::string_view::npos || line.size() - at - prev_key.size() != 64) return std::nullopt;
    chain_link link;
    link.prev = std::string(line.substr(at + prev_key.size()));
    if (link.prev.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
    std::size_t i = seq_key.size();
    if (i >= line.size() || line[i] < '0' || line[i] > '9') return std::nullopt;
    for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
        if (link.seq > (UINT64_MAX - 9) / 10) return std::nullopt;
        link.seq = link.seq * 10 + static_cast<std::uint64_t>(line[i] - '0');
    }
    if (i >= line.size() || line[i] != ' ') return std::nullopt;
    return link;
}

/// The head a head file's text "N HEX" holds, or nothing when it holds none.
inline std::optional<chain_head> parse_chain_head(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.remove_suffix(1);
    auto space = text.find(' ');
    if (space == std::string_view::npos || space == 0 || text.size() - space - 1 != 64) return std::nullopt;
    chain_head head;
    for (char c : text.substr(0, space)) {
        if (c < '0' || c > '9' || head.seq > (UINT64_MAX - 9) / 10) return std::nullopt;
        head.seq = head.seq * 10 + static_cast<std::uint64_t>(c - '0');
    }
    head.hash = std::string(text.substr(space + 1));
    if (head.hash.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
    return head;
}

namespace detail {

// All of fd from offset 0 (a head file is one short line). Throws error.
inline std::string read_small_file(int fd, const std::string& name) {
    std::string text;
    char buf[256];
    for (off_t at = 0;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw system_failure(name);
        if (n == 0) return text;
        text.append(buf, static_cast<std::size_t>(n));
        at += n;
        if (text.size() > 4096) return text;  // not a head: parse_chain_head refuses it
    }
}

// The last complete line of fd (without its newline), empty when there is
// none; a torn line after it (no newline) is not one. Reads backwards in
// blocks until it holds two newlines, so a large log costs a read or two.
inline std::string last_line_of(int fd, const std::string& name) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw system_failure(name);
    off_t end = st.st_size;
    std::string tail;
    char buf[4096];
    while (end > 0 && std::count(tail.begin(), tail.end(), '\n') < 2) {
        off_t from = std::max<off_t>(0, end - static_cast<off_t>(sizeof buf));
        ssize_t n = ::pread(fd, buf, static_cast<std::size_t>(end - from), from);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw system_failure(name, n < 0 ? errno : EIO);
        tail.insert(0, buf, static_cast<std::size_t>(n));
        end = from;
    }
    auto last_newline = tail.rfind('\n');
    if (last_newline == std::string::npos) return {};
    tail.resize(last_newline);
    auto start = tail.rfind('\n');
    return start == std::string::npos ? tail : tail.substr(start + 1);
}

// Whether fd holds something after its last newline.
inline bool ends_torn(int fd, const std::string& name) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw system_failure(name);
    if (st.st_size == 0) return false;
    char last = '\n';
    ssize_t n;
    do n = ::pread(fd, &last, 1, st.st_size - 1);
    while (n < 0 && errno == EINTR);
    if (n < 0) throw system_failure(name);
    return last != '\n';
}

// Writes all of text at offset 0 of fd and cuts the file there.
inline void rewrite_small_file(int fd, const std::string& text, const std::string& name) {
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::pwrite(fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw system_failure(name, n < 0 ? errno : EIO);
        done += static_cast<std::size_t>(n);
    }
    if (::ftruncate(fd, static_cast<off_t>(text.size())) != 0) throw system_failure(name);
}

}  // namespace detail

/// Appends message as the next line of the chain in log_path, under the
/// head file's lock, and moves the head. tool and pid name the writer.
/// Both files are made (mode 0640 less the umask) when missing, and never
/// through a symbolic link. Throws error("PATH: why").
inline void append_chained(const std::string& log_path, std::string_view tool, std::string_view message) {
    const std::string head_path = chain_head_path(log_path);
    unique_fd head_fd(::open(head_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640));
    if (!head_fd) throw system_failure(head_path);
    int rc;
    do rc = ::flock(head_fd.get(), LOCK_EX);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) throw system_failure(head_path + ": lock");
    // Opened under the lock: a rotation since is seen, and one during the
    // append leaves this line the last of the rotated file, as the head says.
    unique_fd log_fd(::open(log_path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640));
    if (!log_fd) throw system_failure(log_path);
    std::optional<chain_head> head = parse_chain_head(detail::read_small_file(head_fd.get(), head_path));
    if (!head) {
        head.emplace();
        std::string last = detail::last_line_of(log_fd.get(), log_path);
        if (!last.empty()) {
            if (auto link = parse_chain_line(last)) head->seq = link->seq;
            head->hash = chain_hash(last);
        }
    }
    std::string line = chain_line(*head, std::time(nullptr), tool, static_cast<long>(::getpid()), message);
    // After a torn write (a writer killed mid-line, a full disk) the line
    // starts on a line of its own; verification shows the torn one.
    std::string with_newline = (detail::ends_torn(log_fd.get(), log_path) ? "\n" : "") + line + '\n';
    if (write_fully(log_fd.get(), with_newline.data(), with_newline.size()) != 0) throw system_failure(log_path);
    if (::fsync(log_fd.get()) != 0) throw system_failure(log_path);
    detail::rewrite_small_file(head_fd.get(), std::to_string(head->seq + 1) + " " + chain_hash(line) + "\n",
                               head_path);
}

/// Where a chain breaks: the file, the line (1-based; 0: the file as a
/// whole) and what is wrong.
struct chain_problem {
    std::string file;
    std::size_t line = 0;
    std::string what;
};

/// One file as verification saw it.
struct chain_file_summary {
    std::string file;
    std::uint64_t lines = 0;
    std::uint64_t first_seq = 0, last_seq = 0;  ///< 0: none
    bool broken = false;
};

/// What verify_chain found.
struct chain_report {
    std::vector<chain_file_summary> files;
    std::vector<chain_problem> problems;
    /// The chain's first line was the first ever written (seq=1, prev=0...):
    /// otherwise the files continue a chain whose start is not among them
    /// (rotated away), which is no fault.
    bool from_genesis = false;
    bool ok() const { return problems.empty(); }
};

/// Checks the chain through files, oldest first, each line against the one
/// before (the first line of each file against the last of the file before),
/// and, when head_path names a readable head, the last line against it.
/// A file that cannot be read is a problem of its own. Throws error only
/// from OpenSSL.
inline chain_report verify_chain(const std::vector<std::string>& files, const std::string& head_path = {}) {
    chain_report report;
    std::optional<chain_head> previous;  // the line before, once there is one
    std::string previous_place;          // "FILE:LINE" of it
    for (const auto& file : files) {
        chain_file_summary summary;
        summary.file = file;
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            report.problems.push_back({file, 0, "cannot be read: " + errno_text(errno)});
            summary.broken = true;
            report.files.push_back(summary);
            previous.reset();
            continue;
        }
        auto fail = [&](std::size_t n, std::string what) {
            report.problems.push_back({file, n, std::move(what)});
            summary.broken = true;
        };
        std::string line;
        std::size_t n = 0;
        while (std::getline(in, line)) {
            ++n;
            ++summary.lines;
            const std::string here = file + ":" + std::to_string(n);
            std::string hash = chain_hash(line);
            auto link = parse_chain_line(line);
            if (!link) {
                fail(n, "not a chained audit line (no seq= at its start or no prev= at its end)");
                previous = chain_head{0, hash};
                previous_place = here;
                continue;
            }
            if (!summary.first_seq) summary.first_seq = link->seq;
            summary.last_seq = link->seq;
            if (!previous) {
                // The first line, or the first after an unreadable file:
                // nothing to link it to.
                if (report.files.empty() && n == 1)
                    report.from_genesis = link->seq == 1 && link->prev == chain_genesis;
            } else if (link->prev != previous->hash) {
                const std::uint64_t expected = previous->seq + 1;
                if (previous->seq == 0)
                    fail(n, "does not link to the line before (" + previous_place + ")");
                else if (link->seq > expected)
                    fail(n, std::to_string(link->seq - expected) + " line(s) missing before this one (seq " +
                                std::to_string(expected) + (link->seq - expected > 1 ? ".." + std::to_string(link->seq - 1) : "") +
                                ", after seq " + std::to_string(previous->seq) + " at " + previous_place + ")");
                else if (link->seq < expected)
                    fail(n, "out of order: seq " + std::to_string(link->seq) + " after seq " +
                                std::to_string(previous->seq) + " at " + previous_place);
                else
                    fail(n, "does not link to the line before: " + previous_place + " (seq " +
                                std::to_string(previous->seq) + ") was altered, or this line's prev=");
            } else if (previous->seq != 0 && link->seq != previous->seq + 1) {
                fail(n, "seq " + std::to_string(link->seq) + " altered: it follows seq " +
                            std::to_string(previous->seq) + " at " + previous_place);
            }
            previous = chain_head{link->seq, hash};
            previous_place = here;
        }
        if (in.bad()) fail(0, "read error");
        report.files.push_back(summary);
    }
    if (!head_path.empty()) {
        std::ifstream in(head_path, std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto head = in ? parse_chain_head(text) : std::nullopt;
        if (in && !head) {
            report.problems.push_back({head_path, 0, "not a chain head (\"SEQ HASH\")"});
        } else if (head && (!previous || previous->hash != head->hash)) {
            std::string last = report.files.empty() ? head_path : report.files.back().file;
            std::size_t at = report.files.empty() ? 0 : static_cast<std::size_t>(report.files.back().lines);
            if (!previous)
                report.problems.push_back({last, at, "empty, but the head says seq " + std::to_string(head->seq) +
                                                         " was written"});
            else if (head->seq > previous->seq)
                report.problems.push_back({last, at, std::to_string(head->seq - previous->seq) +
                                                         " line(s) missing at the end (the head says seq " +
                                                         std::to_string(head->seq) + " was written last)"});
            else
                report.problems.push_back({last, at, "the last line (seq " + std::to_string(previous->seq) +
                                                         ") is not the one the head says was written last (seq " +
                                                         std::to_string(head->seq) + "): altered"});
            if (!report.files.empty()) report.files.back().broken = true;
        }
    }
    return report;
}

/// The files of the log at log_path as logrotate leaves them, oldest
/// first: PATH.N ... PATH.2, PATH.1, then PATH. Numbered names only
/// (logrotate's default; neither dateext nor compress), the existing ones.
/// PATH itself is left out when it is missing and rotated files exist:
/// logrotate's nocreate renames it, and the next line makes it again.
inline std::vector<std::string> chain_files(const std::string& log_path) {
    std::vector<std::string> files;
    struct stat st {};
    for (int n = 1; n < 10000 && ::stat((log_path + "." + std::to_string(n)).c_str(), &st) == 0; ++n)
        files.push_back(log_path + "." + std::to_string(n));
    std::reverse(files.begin(), files.end());
    if (files.empty() || ::lstat(log_path.c_str(), &st) == 0 || errno != ENOENT) files.push_back(log_path);
    return files;
}

}  // namespace capture
