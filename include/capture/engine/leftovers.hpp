// What tools killed at the wrong moment leave in a capture directory.
//
// A tool killed with SIGKILL (or by a crash, or a reboot) cannot tidy up:
//   * a temporary file it was writing stays (".NAME.PID-START.XXXXXX.tmp",
//     atomic_file.hpp): a record, a sidecar, a merge or its parts, a pull;
//   * a pull leaves the symbolic link that stood at its final name while it
//     ran, pointing at its temporary, and a record that says running;
//   * a live capture leaves its file, whose last packet may be cut short
//     if the kill came in the middle of a write, and a record whose
//     counters are up to a second old.
// cap-ls already marks such a capture dead (registry.hpp). Here, what
// comes after: the dead capture's file is made whole (cut after its last
// whole packet, a pull's temporary published under its name over the
// link) and its record counts what the file holds, so nothing that was
// done is lost; and the temporaries nobody will finish are found, for
// cap-ls to report and cap-ls --clean to remove.
//
// A temporary is abandoned when the process its name gives is gone (pid
// and start time, never pid alone), so one being written is never taken
// for a leftover (by tools running in the same pid namespace).
#pragma once

#include "capture/sys/atomic_file.hpp"
#include "capture/pcap/capture_reader.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"
#include "capture/text/record.hpp"
#include "capture/engine/registry.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace capture {

/// A file a killed tool left behind.
struct leftover {
    std::string path;         ///< the temporary, or a dead pull's link with no record
    std::uint64_t bytes = 0;  ///< its size (0 for a link)
    pid_t pid = 0;            ///< the process that was writing it
};

namespace detail {

// The target of the symbolic link at path when it is a temporary's name
// in the same directory; empty otherwise.
inline std::string link_to_temporary(const std::string& path) {
    char target[4096];
    ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
    if (n <= 0) return {};
    std::string name(target, static_cast<std::size_t>(n));
    if (name.find('/') != std::string::npos || !temporary_owner_of(name)) return {};
    return name;
}

// The end of the last whole packet of the classic pcap file in m, walking
// from `from` (the end of a record, `packets` before it); adds the packets
// walked to packets. Nothing when m is no classic pcap or a record header
// on the way is not one (the caller then reads the whole file).
inline std::optional<std::uint64_t> last_whole_pcap_record(const mapped_file& m, std::uint64_t from,
                                                           std::uint64_t& packets) {
    if (m.size() < 24 || from < 24 || from > m.size()) return std::nullopt;
    std::uint32_t magic;
    std::memcpy(&magic, m.data(), 4);
    const bool swapped = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
    if (!swapped && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) return std::nullopt;
    std::uint64_t at = from, walked = 0;
    while (m.size() - at >= 16) {
        std::uint32_t caplen;
        std::memcpy(&caplen, m.data() + at + 8, 4);
        if (swapped) caplen = __builtin_bswap32(caplen);
        if (caplen > (256u << 20)) return std::nullopt;
        if (m.size() - at - 16 < caplen) break;  // the one cut short
        at += 16 + std::uint64_t{caplen};
        ++walked;
    }
    packets += walked;
    return at;
}

}  // namespace detail

/// Makes the file of a capture that died whole, under the directory lock:
/// cut after its last whole packet (for a live capture, walked from the
/// size its record gives, which its last flush left whole; otherwise read
/// through), and, for a pull whose name is still the link to its
/// temporary, that temporary published under its name (or, when it holds
/// no capture yet, the link and the temporary removed). Returns its record
/// with packets and bytes as the file now holds them (written), or nothing
/// when it is not dead, there is nothing to do, or it cannot be done (the
/// file is not ours to change). Throws nothing but std::bad_alloc.
inline std::optional<record> repair_dead_capture(const std::string& record_path) {
    try {
        dir_lock lock(detail::dir_of(record_path));
        record r = read_record_file(record_path);
        if (effective_state(r) != "dead") return std::nullopt;
        const std::string file = r.get("file");
        struct stat st {};
        if (file.empty() || ::lstat(file.c_str(), &st) != 0) return std::nullopt;
        std::string data_path = file;  // where the packets are
        const bool linked = S_ISLNK(st.st_mode);
        if (linked) {
            std::string target = detail::link_to_temporary(file);
            if (target.empty()) return std::nullopt;
            data_path = detail::dir_of(file) + "/" + target;
            if (!temporary_abandoned(target) || ::lstat(data_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
                return std::nullopt;
        } else if (!S_ISREG(st.st_mode) || r.has("repaired")) {
            return std::nullopt;
        }
        std::uint64_t packets = 0;
        std::optional<std::uint64_t> end;
        if (r.get("kind") == "live") {
            try {
                packets = std::stoull(r.get("packets", "x"));
                end = detail::last_whole_pcap_record(mapped_file(data_path), std::stoull(r.get("bytes", "x")), packets);
            } catch (const std::exception&) {
                end.reset();
            }
        }
        if (!end) {
            try {
                const whole_packets whole = count_whole_packets(data_path);
                end = whole.end;
                packets = whole.packets;
            } catch (const error&) {
                // No capture at all yet.
            }
        }
        if (!end && linked) {
            // Killed before its output had even a header: nothing was done, nothing to keep.
            if (::unlink(data_path.c_str()) != 0 || ::unlink(file.c_str()) != 0) return std::nullopt;
            r.set("packets", "0");
            r.set("bytes", "0");
            r.set("repaired", "yes");
            r.set("reason", r.get("reason") + "; it had written nothing, and nothing is kept");
            write_record_file(record_path, r, 0640, true);
            return r;
        }
        if (!end) return std::nullopt;
        if (static_cast<std::uint64_t>(st.st_size) > *end) {
            unique_fd fd(::open(data_path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
            if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(*end)) != 0) return std::nullopt;
        }
        if (linked && ::rename(data_path.c_str(), file.c_str()) != 0) return std::nullopt;
        r.set("packets", std::to_string(packets));
        r.set("bytes", std::to_string(*end));
        r.set("repaired", "yes");
        write_record_file(record_path, r, 0640, true);
        return r;
    } catch (const error&) {
        return std::nullopt;
    }
}

/// The files in dir that killed tools left and nobody will finish: the
/// temporaries whose process is gone (except a dead pull's, which its
/// record still names: repair_dead_capture publishes those), and the links
/// a pull killed before it wrote its record left pointing at one. Sorted
/// by path. A missing or unreadable directory has none. Throws nothing
/// but std::bad_alloc.
inline std::vector<leftover> find_leftovers(const std::string& dir) {
    std::vector<leftover> found;
    std::vector<std::string> names, claimed;  // claimed: temporaries a recorded pull's link points at
    if (DIR* d = ::opendir(dir.c_str())) {
        while (const dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
        ::closedir(d);
    }
    for (const auto& name : names) {
        if (name.empty() || name[0] == '.') continue;
        const std::string path = dir + "/" + name;
        std::string target = detail::link_to_temporary(path);
        if (target.empty()) continue;
        struct stat st {};
        if (::access(record_path_for(path).c_str(), F_OK) == 0) {
            claimed.push_back(target);
        } else if (::lstat((dir + "/" + target).c_str(), &st) != 0 || temporary_abandoned(target)) {
            found.push_back(leftover{path, 0, temporary_owner_of(target)->pid});
        }
    }
    for (const auto& name : names) {
        auto owner = temporary_owner_of(name);
        if (!owner || std::find(claimed.begin(), claimed.end(), name) != claimed.end() || !temporary_abandoned(name))
            continue;
        struct stat st {};
        if (::lstat((dir + "/" + name).c_str(), &st) != 0) continue;
        found.push_back(leftover{dir + "/" + name, static_cast<std::uint64_t>(st.st_size), owner->pid});
    }
    std::sort(found.begin(), found.end(), [](const leftover& a, const leftover& b) { return a.path < b.path; });
    return found;
}

/// Removes a leftover (never through a link: the link itself goes).
/// Throws error("PATH: why").
inline void remove_leftover(const leftover& l) {
    if (::unlink(l.path.c_str()) != 0 && errno != ENOENT) throw system_failure(l.path);
}

}  // namespace capture
