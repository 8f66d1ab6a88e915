// Configuration: /etc/capture.conf, the environment, the command line.
//
// Precedence, lowest first: built-in defaults, the configuration file
// (--config, else CAPTURE_CONF, else /etc/capture.conf when present), the
// environment (CAPTURE_DIR, CAPTURE_SYSLOG, CAPTURE_SYSLOG_SOCKET), the
// command line. The file is INI ("key = value", '#' comments) read by
// Boost.Program_options; it is shared by every tool, so each tool accepts
// every key even where it has no use for it.
#pragma once

#include "capture/audit.hpp"
#include "capture/error.hpp"
#include "capture/file_mode.hpp"
#include "capture/links.hpp"
#include "capture/time_arg.hpp"

#include <boost/program_options.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace capture {

/// Everything the configuration decides, after precedence is applied.
struct settings {
    std::string config_file;           ///< the file read, empty when none
    std::string dir;                   ///< the capture directory
    std::vector<std::string> archives; ///< archive directories for pulls
    std::string algo = "sha256";       ///< default digest for cap-hash
    bool sidecar = false;              ///< cap-hash writes FILE.ALGO by default
    audit_settings audit;              ///< syslog
    std::string interface;             ///< cap-start's default interface; empty: the first up one
    int snaplen = 0;                   ///< cap-start's default snapshot length; 0: the whole packet
    std::string capture_user;          ///< whom a capture runs as after opening the device
    std::string capture_group;         ///< the group of capture files; empty: the user's group
    std::uint64_t buffer_bytes = 0;    ///< cap-start's kernel capture buffer; 0: the built-in 32 MiB
    mode_t file_mode = default_file_mode;  ///< capture files and records (directories: directory_mode_for)
    bool vlan = false;                 ///< cap-start and cap-pull match in 802.1Q frames too unless told not to
    std::string duration = "1d";       ///< a capture without --duration ends after this ("0": never)
    std::string max_duration = "0";    ///< the longest a capture may be asked to run ("0": no bound)
    std::string stale_age = "1d";      ///< cap-ls marks running captures older than this stale
    std::vector<link_template> links;  ///< URL templates of suggested alternate resources
};

/// The smallest and largest kernel capture buffers cap-start accepts.
inline constexpr std::uint64_t min_buffer_bytes = 64 << 10, max_buffer_bytes = 1 << 30;

/// The buffer size text asks for. Throws usage_error naming what outside
/// 64K to 1G or when text is not a size.
inline std::uint64_t parse_buffer_size(std::string_view text, std::string_view what) {
    std::uint64_t b = parse_size(text, what);
    if (b < min_buffer_bytes || b > max_buffer_bytes)
        throw usage_error(std::string(what) + ": '" + std::string(text) + "' is not between 64K and 1G");
    return b;
}

/// The system-wide configuration file.
inline const char* system_config_path() { return "/etc/capture.conf"; }

/// The capture directory when nothing names one: /var/lib/capture for
/// root, ~/captures for everyone else.
inline std::string default_capture_dir() {
    if (::geteuid() == 0) return "/var/lib/capture";
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : ".") + "/captures";
}

/// The keys a configuration file may hold, each as "key = value".
inline boost::program_options::options_description config_file_keys() {
    namespace po = boost::program_options;
    po::options_description keys("Configuration file keys");
    keys.add_options()
        ("dir", po::value<std::string>(), "capture directory")
        ("archive", po::value<std::vector<std::string>>()->composing(), "archive directory (repeatable)")
        ("algo", po::value<std::string>(), "default digest for cap-hash")
        ("sidecar", po::value<bool>(), "cap-hash writes sidecar files by default")
        ("syslog", po::value<std::string>(), "syslog facility, or off")
        ("syslog-socket", po::value<std::string>(), "local syslog socket")
        ("interface", po::value<std::string>(), "cap-start's default interface")
        ("snaplen", po::value<int>(), "cap-start's default snapshot length")
        ("user", po::value<std::string>(), "user a capture runs as once the device is open")
        ("group", po::value<std::string>(), "group of capture files")
        ("buffer-size", po::value<std::string>(), "cap-start's kernel capture buffer")
        ("file-mode", po::value<std::string>(), "mode of capture files and records")
        ("vlan", po::value<bool>(), "match expressions in 802.1Q-tagged frames too by default")
        ("duration", po::value<std::string>(), "default duration of a capture")
        ("max-duration", po::value<std::string>(), "longest duration a capture may be asked for")
        ("stale-age", po::value<std::string>(), "age after which cap-ls marks a capture stale")
        ("link", po::value<std::vector<std::string>>()->composing(), "NAME=URL template of a suggested resource (repeatable)");
    return keys;
}

namespace detail {

/// The line of path on which key is set (to value, when given: a
/// repeatable key is on several lines), for messages; 0 when not found.
inline std::size_t config_line_of(const std::string& path, const std::string& key, const std::string* value = nullptr) {
    auto trim = [](std::string s) {
        auto first = s.find_first_not_of(" \t\r");
        if (first == std::string::npos) return std::string();
        return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
    };
    std::ifstream in(path);
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        line = line.substr(0, line.find('#'));  // as Program_options reads it
        auto eq = line.find('=');
        if (trim(line.substr(0, eq)) != key) continue;
        if (!value || (eq != std::string::npos && trim(line.substr(eq + 1)) == *value)) return n;
    }
    return 0;
}

/// syslog=VALUE: off/no/false turns it off; on/yes/true keeps the facility;
/// anything else is a facility name.
inline void apply_syslog_value(audit_settings& audit, const std::string& value) {
    if (value == "off" || value == "no" || value == "false" || value == "0") {
        audit.enabled = false;
    } else if (value == "on" || value == "yes" || value == "true" || value == "1") {
        audit.enabled = true;
    } else {
        audit.enabled = true;
        audit.facility = facility_from_name(value);
    }
}

}  // namespace detail

/// Reads a configuration file into s. Throws usage_error naming the file
/// and the line for an unknown key, a bad value or an unreadable file.
inline void read_config_file(const std::string& path, settings& s) {
    namespace po = boost::program_options;
    std::ifstream in(path);
    if (!in) throw usage_error(path + ": " + errno_text(errno));
    // "PATH:LINE: " for the line that sets key (to value).
    auto where = [&path](const std::string& key, const std::string* value = nullptr) {
        std::size_t line = detail::config_line_of(path, key, value);
        return path + (line ? ":" + std::to_string(line) : std::string()) + ": ";
    };
    po::variables_map vm;
    try {
        po::store(po::parse_config_file(in, config_file_keys(), false), vm);
        po::notify(vm);
    } catch (const po::error_with_option_name& e) {
        std::string option = e.get_option_name();
        while (!option.empty() && option.front() == '-') option.erase(0, 1);
        throw usage_error(where(option) + e.what());
    } catch (const po::error& e) {
        throw usage_error(path + ": " + e.what());
    }
    // Each value is checked here, so that a mistake is reported with its
    // line before any tool acts on it.
    auto text = [&vm](const char* key) { return vm[key].as<std::string>(); };
    auto checked = [&](const char* key, const std::function<void(const std::string&)>& apply) {
        if (!vm.count(key)) return;
        std::string value = text(key);
        try {
            apply(value);
        } catch (const usage_error& e) {
            throw usage_error(where(key, &value) + e.what());
        }
    };
    s.config_file = path;
    if (vm.count("dir")) s.dir = text("dir");
    if (vm.count("archive")) s.archives = vm["archive"].as<std::vector<std::string>>();
    if (vm.count("algo")) s.algo = text("algo");
    if (vm.count("sidecar")) s.sidecar = vm["sidecar"].as<bool>();
    checked("syslog", [&](const std::string& v) { detail::apply_syslog_value(s.audit, v); });
    if (vm.count("syslog-socket")) s.audit.socket_path = text("syslog-socket");
    if (vm.count("interface")) s.interface = text("interface");
    if (vm.count("snaplen")) {
        s.snaplen = vm["snaplen"].as<int>();
        if (s.snaplen < 0) throw usage_error(where("snaplen") + "snaplen: must not be negative");
    }
    if (vm.count("user")) s.capture_user = text("user");
    if (vm.count("group")) s.capture_group = text("group");
    checked("buffer-size", [&](const std::string& v) { s.buffer_bytes = parse_buffer_size(v, "buffer-size"); });
    checked("file-mode", [&](const std::string& v) { s.file_mode = parse_file_mode(v, "file-mode"); });
    if (vm.count("vlan")) s.vlan = vm["vlan"].as<bool>();
    for (const char* key : {"duration", "max-duration", "stale-age"})
        checked(key, [&](const std::string& v) { parse_duration(v, key); });
    if (vm.count("duration")) s.duration = text("duration");
    if (vm.count("max-duration")) s.max_duration = text("max-duration");
    if (vm.count("stale-age")) s.stale_age = text("stale-age");
    if (vm.count("link")) {
        s.links.clear();
        for (const auto& value : vm["link"].as<std::vector<std::string>>()) {
            try {
                s.links.push_back(parse_link_template(value));
            } catch (const usage_error& e) {
                throw usage_error(where("link", &value) + e.what());
            }
        }
    }
}

/// Settings from the defaults, the file and the environment (the command
/// line is applied on top by the runner). explicit_config is --config.
inline settings load_settings(const std::string& explicit_config) {
    settings s;
    std::string path = explicit_config;
    if (path.empty())
        if (const char* env = std::getenv("CAPTURE_CONF"); env && *env) path = env;
    if (!path.empty()) {
        read_config_file(path, s);
    } else if (::access(system_config_path(), F_OK) == 0) {
        read_config_file(system_config_path(), s);
    }
    if (const char* env = std::getenv("CAPTURE_DIR"); env && *env) s.dir = env;
    if (const char* env = std::getenv("CAPTURE_SYSLOG"); env && *env) {
        try {
            detail::apply_syslog_value(s.audit, env);
        } catch (const usage_error& e) {
            throw usage_error(std::string("CAPTURE_SYSLOG: ") + e.what());
        }
    }
    if (const char* env = std::getenv("CAPTURE_SYSLOG_SOCKET"); env && *env) s.audit.socket_path = env;
    if (s.dir.empty()) s.dir = default_capture_dir();
    return s;
}

}  // namespace capture
