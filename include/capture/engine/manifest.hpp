// The provenance manifest of a pull or a merge (see cap-manifest(5)): a
// JSON file beside the output, NAME.manifest.json, saying what was asked,
// by whom, when, with which tool, which source files were read (size,
// modification time and, with --hash-sources, digest) and the output's
// digest; and its check (cap-hash --check NAME.manifest.json).
//
// The output's digest is made while it is written, by a tap on its writer
// (digest_tap, sys/digest.hpp) on the writer's own thread, so a manifest
// costs a pull about nothing (bench/bench_manifest.sh). Where the tap did
// not see the file whole (bytes patched or cut off after they were
// written, capture_writer::tap_saw_whole_file()), or the file on disk is
// not as long as what the tap saw, the output is read back and hashed
// instead: the digest in the manifest is always the file's. The sources
// are only stat(2)ed unless --hash-sources asks for their digests.
#pragma once

#include "capture/engine/cli.hpp"
#include "capture/pcap/capture_writer.hpp"
#include "capture/sys/atomic_file.hpp"
#include "capture/sys/digest.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/time_format.hpp"
#include "capture/text/audit.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace capture {

/// The version of the manifest format (cap-manifest(5)).
inline constexpr int manifest_format_version = 1;

/// The manifest beside output_path.
inline std::string manifest_path_for(const std::string& output_path) { return output_path + ".manifest.json"; }

/// Whether path names a manifest (by its name, as cap-hash --check tells).
inline bool is_manifest_path(std::string_view path) {
    static constexpr std::string_view suffix = ".manifest.json";
    return path.size() > suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
}

/// What the manifest says of the request, besides the sources.
/// One sensor of a fleet pull as its manifest holds it: what it sent and
/// how it ended (its own files are on it, not here).
struct manifest_sensor {
    std::string name, state, reason, first, last;
    std::uint64_t packets = 0, received = 0;
};

/// One alert a pull from alerts (cap-pull --from-alert) was made for: what
/// the IDS called it and the flow and window pulled for it.
struct manifest_alert {
    std::string alert_id, signature, uid, expression, since, until;
};

struct manifest_request {
    std::string tool;                       ///< cap-pull, cap-merge
    std::vector<std::string> command_line;  ///< argv as given
    std::string analyst, description, expression, since, until, state;
    std::vector<std::string> archives;
    std::vector<manifest_sensor> sensors;   ///< a fleet pull's, in the order named
    std::vector<manifest_alert> alerts;     ///< a pull from alerts': those it holds, in the order read
};

namespace detail {

inline std::string absolute_path(const std::string& path) {
    if (!path.empty() && path.front() == '/') return path;
    char buf[PATH_MAX];
    if (!::getcwd(buf, sizeof buf)) return path;
    return std::string(buf) + "/" + path;
}

inline std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return "";
    return buf;
}

// size and mtime of a file as the manifest holds them.
inline nlohmann::ordered_json file_facts(const std::string& path, const struct stat& st) {
    nlohmann::ordered_json f;
    f["path"] = path;
    f["size"] = static_cast<std::uint64_t>(st.st_size);
    f["mtime"] = format_iso8601(st.st_mtim.tv_sec, static_cast<std::uint32_t>(st.st_mtim.tv_nsec), 9);
    f["mtime_ns"] = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    return f;
}

}  // namespace detail

/// The output's SHA-256 as its writer's tap made it, and the bytes it saw.
struct known_digest {
    std::string sha256;  ///< hex
    std::uint64_t bytes = 0;
};

/// What tap (set on out before its first write, out.tap()) made of out,
/// once out is committed: the digest, when the tap saw the whole file;
/// nothing when it did not, or the digest could not be made, so that the
/// manifest reads the file. Throws nothing but std::bad_alloc.
inline std::optional<known_digest> known_digest_of(const capture_writer& out, digest_tap& tap) {
    if (!out.tap_saw_whole_file() || tap.name() != "sha256") return std::nullopt;
    try {
        return known_digest{tap.hex(), tap.bytes()};
    } catch (const error&) {
        return std::nullopt;  // said nowhere: the file is read instead, and that says what fails
    }
}

/// The manifest of output_path (as published), made of req and sources
/// (each stat(2)ed now; hashed with sha256 when hash_sources). A source
/// that cannot be stat(2)ed is listed with its error. The output's digest
/// is known's when given and the file is as long as known says, else the
/// file is read and hashed. Throws error when the output cannot be read.
inline nlohmann::ordered_json make_manifest(const manifest_request& req, const std::string& output_path,
                                    const std::vector<std::string>& sources, bool hash_sources,
                                    const known_digest* known = nullptr) {
    nlohmann::ordered_json m;
    m["manifest"] = manifest_format_version;
    m["tool"] = req.tool;
    m["version"] = CAPTURE_VERSION;
    m["created"] = format_iso8601(std::time(nullptr));
    actor who = current_actor();
    m["run_by"] = {{"user", who.user}, {"uid", ::getuid()}, {"host", detail::host_name()}};
    if (!who.sudo_user.empty()) m["run_by"]["sudo_user"] = who.sudo_user;
    m["command_line"] = req.command_line;
    nlohmann::ordered_json r;
    r["analyst"] = req.analyst;
    if (!req.description.empty()) r["description"] = req.description;
    if (req.tool == "cap-pull") r["expression"] = req.expression;
    if (!req.since.empty()) r["since"] = req.since;
    if (!req.until.empty()) r["until"] = req.until;
    if (!req.archives.empty()) {
        nlohmann::ordered_json archives = nlohmann::ordered_json::array();
        for (const auto& a : req.archives) archives.push_back(detail::absolute_path(a));
        r["archives"] = archives;
    }
    if (!req.state.empty()) r["state"] = req.state;
    if (!req.alerts.empty()) {
        nlohmann::ordered_json alerts = nlohmann::ordered_json::array();
        for (const auto& a : req.alerts) {
            nlohmann::ordered_json j;
            if (!a.alert_id.empty()) j["alert_id"] = a.alert_id;
            if (!a.signature.empty()) j["signature"] = a.signature;
            if (!a.uid.empty()) j["uid"] = a.uid;
            j["expression"] = a.expression;
            j["since"] = a.since;
            j["until"] = a.until;
            alerts.push_back(j);
        }
        r["alerts"] = alerts;
    }
    m["request"] = r;
    if (!req.sensors.empty()) {
        nlohmann::ordered_json sensors = nlohmann::ordered_json::array();
        for (const auto& sensor : req.sensors) {
            nlohmann::ordered_json j{{"name", sensor.name}, {"state", sensor.state}, {"packets", sensor.packets},
                                     {"received", sensor.received}};
            if (!sensor.first.empty()) j["first"] = sensor.first;
            if (!sensor.last.empty()) j["last"] = sensor.last;
            if (!sensor.reason.empty()) j["reason"] = sensor.reason;
            sensors.push_back(j);
        }
        m["sensors"] = sensors;
    }
    // Fetched only when something is to be read: a pull whose tap made the
    // output's digest has no use for it.
    std::unique_ptr<digest_algorithm> sha256;
    std::unique_ptr<file_hasher> hasher;
    auto hash_file = [&](const std::string& path) {
        if (!sha256) {
            sha256 = std::make_unique<digest_algorithm>("sha256");
            hasher = std::make_unique<file_hasher>();
        }
        return hasher->hex_digest_of_file(path, sha256->md());
    };
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& s : sources) {
        const std::string path = detail::absolute_path(s);
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            list.push_back({{"path", path}, {"error", errno_text(errno)}});
            continue;
        }
        nlohmann::ordered_json f = detail::file_facts(path, st);
        if (hash_sources) {
            try {
                f["sha256"] = hash_file(path);
            } catch (const error& e) {
                f["error"] = e.what();
            }
        }
        list.push_back(f);
    }
    m["sources"] = list;
    struct stat st {};
    if (::stat(output_path.c_str(), &st) != 0) throw system_failure(output_path);
    nlohmann::ordered_json out = detail::file_facts(detail::absolute_path(output_path), st);
    out["name"] = file_name_of(output_path);
    // The tap's digest is the file's when the tap saw it whole; the size
    // is a last check that nothing was cut off or added meanwhile.
    const bool tapped = known && !known->sha256.empty() && known->bytes == static_cast<std::uint64_t>(st.st_size);
    out["sha256"] = tapped ? known->sha256 : hash_file(output_path);
    m["output"] = out;
    return m;
}

/// Writes manifest beside output_path, atomically, with mode; returns its
/// path. Throws error("PATH: why").
inline std::string write_manifest(const nlohmann::ordered_json& manifest, const std::string& output_path, mode_t mode) {
    std::string path = manifest_path_for(output_path);
    // Bytes that are not UTF-8 become U+FFFD, as in --json (record_json.hpp):
    // JSON cannot carry them; the record beside the output has the originals.
    // Not waited onto the disk: the output it speaks for is not either (a
    // capture is never fsync'ed), and the wait was the most of what a
    // manifest cost a small pull (bench_manifest.sh). Lost to a crash, a
    // manifest is missing, unreadable, or its output FAILED in cap-hash
    // --check: never a false OK.
    write_file_atomically(path, manifest.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n",
                          mode, file_sync::start);
    return path;
}

/// One file a manifest check looked at.
struct manifest_check_item {
    std::string role;     ///< output, source
    std::string path;
    std::string verdict;  ///< OK, FAILED, gone
    std::string why;      ///< what differs, for FAILED and gone
};

/// Checks the manifest at path: the output (found by its name beside the
/// manifest, else by its recorded path) must match its size and digest;
/// every source still present must match its size, and its digest when
/// one is recorded, else its mtime; a source gone is said, no failure (the
/// archive rolls on). Throws error("PATH: why") for a manifest that cannot
/// be read or is not one.
inline std::vector<manifest_check_item> check_manifest(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw system_failure(path);
    nlohmann::ordered_json m;
    try {
        m = nlohmann::ordered_json::parse(in);
    } catch (const nlohmann::ordered_json::exception& e) {
        throw error(path + ": not JSON: " + e.what());
    }
    if (!m.is_object() || !m.contains("manifest") || !m["manifest"].is_number_integer() || !m.contains("output") ||
        !m["output"].is_object())
        throw error(path + ": not a capture manifest (no \"manifest\" version or \"output\")");
    if (m["manifest"].get<int>() > manifest_format_version)
        throw error(path + ": manifest format " + std::to_string(m["manifest"].get<int>()) +
                    " is newer than this tool's (" + std::to_string(manifest_format_version) + ")");
    static const digest_algorithm sha256("sha256");
    file_hasher hasher;
    std::vector<manifest_check_item> items;
    auto text = [](const nlohmann::ordered_json& j, const char* key) {
        return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
    };
    auto check_file = [&](const nlohmann::ordered_json& f, const std::string& role, const std::string& at) {
        manifest_check_item item{role, at, "OK", ""};
        struct stat st {};
        if (::stat(at.c_str(), &st) != 0) {
            item.verdict = role == "output" ? "FAILED" : "gone";
            item.why = errno_text(errno);
            return item;
        }
        std::vector<std::string> differs;
        if (f.contains("size") && f["size"].is_number_unsigned() &&
            f["size"].get<std::uint64_t>() != static_cast<std::uint64_t>(st.st_size))
            differs.push_back("size " + std::to_string(st.st_size) + ", not " + std::to_string(f["size"].get<std::uint64_t>()));
        const std::int64_t mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
        // With a digest recorded, the digest decides: a copy or a touch
        // changes the mtime, not the evidence.
        if (role == "source" && text(f, "sha256").empty() && f.contains("mtime_ns") && f["mtime_ns"].is_number_integer() &&
            f["mtime_ns"].get<std::int64_t>() != mtime_ns)
            differs.push_back("modified " + format_iso8601(st.st_mtim.tv_sec, static_cast<std::uint32_t>(st.st_mtim.tv_nsec), 9) +
                              ", not " + text(f, "mtime"));
        if (!text(f, "sha256").empty() && differs.empty()) {
            try {
                if (!hex_equal(hasher.hex_digest_of_file(at, sha256.md()), text(f, "sha256")))
                    differs.push_back("sha256 differs");
            } catch (const error& e) {
                differs.push_back(e.what());
            }
        }
        if (!differs.empty()) {
            item.verdict = "FAILED";
            for (const auto& d : differs) item.why += (item.why.empty() ? "" : "; ") + d;
        }
        return item;
    };
    const nlohmann::ordered_json& out = m["output"];
    std::string beside = path.find('/') == std::string::npos ? text(out, "name")
                                                              : directory_of(path) + "/" + text(out, "name");
    struct stat st {};
    std::string out_at = !text(out, "name").empty() && ::stat(beside.c_str(), &st) == 0 ? beside : text(out, "path");
    if (text(out, "sha256").empty()) items.push_back({"output", out_at, "FAILED", "no sha256 recorded"});
    else items.push_back(check_file(out, "output", out_at));
    if (m.contains("sources") && m["sources"].is_array())
        for (const auto& f : m["sources"]) {
            if (!f.is_object() || text(f, "path").empty()) continue;
            if (f.contains("error")) {
                items.push_back({"source", text(f, "path"), "gone", "unreadable when the manifest was made"});
                continue;
            }
            items.push_back(check_file(f, "source", text(f, "path")));
        }
    return items;
}

}  // namespace capture
