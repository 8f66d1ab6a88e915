// Configuration: /etc/capture.conf, the environment, the command line.
//
// Precedence, lowest first: built-in defaults, the configuration file
// (--config, else CAPTURE_CONF, else /etc/capture.conf when present), the
// environment (CAPTURE_DIR, CAPTURE_SYSLOG, CAPTURE_SYSLOG_SOCKET), the
// command line. The file is INI ("key = value", '#' comments) read by
// Boost.Program_options; it is shared by every tool, so each tool accepts
// every key even where it has no use for it.
#pragma once

#include "capture/text/audit.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/file_mode.hpp"
#include "capture/text/links.hpp"
#include "capture/text/output.hpp"
#include "capture/sys/time_arg.hpp"

#include <boost/program_options.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
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
    std::string analyst;               ///< the analyst when -a is not given (engine/analyst.hpp)
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
        ("audit-log", po::value<std::string>(), "hash-chained local audit log (absolute path)")
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
        ("link", po::value<std::vector<std::string>>()->composing(), "NAME=URL template of a suggested resource (repeatable)")
        ("analyst", po::value<std::string>(), "the analyst when -a is not given");
    return keys;
}

namespace detail {

/// The line of text on which key is set (to value, when given: a
/// repeatable key is on several lines), for messages; 0 when not found.
inline std::size_t config_line_of(const std::string& text, const std::string& key, const std::string* value = nullptr) {
    auto trim = [](std::string s) {
        auto first = s.find_first_not_of(" \t\r");
        if (first == std::string::npos) return std::string();
        return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
    };
    std::istringstream in(text);
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        line = line.substr(0, line.find('#'));  // as Program_options reads it
        auto eq = line.find('=');
        if (trim(line.substr(0, eq)) != key) continue;
        if (!value || (eq != std::string::npos && trim(line.substr(eq + 1)) == *value)) return n;
    }
    return 0;
}

/// The line of text that Boost quotes as invalid (trimmed as it trims
/// it), for messages; 0 when not found.
inline std::size_t config_line_holding(const std::string& text, const std::string& invalid) {
    std::istringstream in(text);
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n)
        if (!invalid.empty() && line.find(invalid) != std::string::npos) return n;
    return 0;
}

// Boost.Program_options puts names and values into its messages by
// replacing %value%, %canonical_option% ... until none is left, so a value
// or a name holding such a token itself ("--snaplen %value%") makes what()
// loop for ever. When the input holds a '%', the message is taken from the
// same parse made again with a stand-in byte for every '%', put back in the
// message afterwards; otherwise what() is safe as it is.
inline constexpr char percent_stand_in = '\x1a';

inline std::string percent_hidden(std::string text) {
    std::replace(text.begin(), text.end(), '%', percent_stand_in);
    return text;
}

/// The message of e, thrown by a parse of input that held a '%' when
/// had_percent; reparse repeats that parse on percent_hidden() input.
template <class Reparse>
std::string boost_message(const boost::program_options::error& e, bool had_percent, Reparse&& reparse) {
    if (!had_percent) return e.what();
    try {
        reparse();
    } catch (const boost::program_options::error& again) {
        std::string message = again.what();
        std::replace(message.begin(), message.end(), percent_stand_in, '%');
        return message;
    }
    return "invalid input";  // not reached: the same input fails the same way
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

/// The largest configuration file read: a bound on memory, far beyond any real one.
inline constexpr std::size_t max_config_bytes = std::size_t{1} << 20;

/// Reads the text of a configuration file (name, for messages) into s.
/// Throws usage_error naming the file and the line for an unknown key, a
/// bad value or a line that is not "key = value".
inline void parse_config_text(const std::string& text, const std::string& name, settings& s) {
    namespace po = boost::program_options;
    std::istringstream in(text);
    auto at_line = [&](std::size_t line) { return name + (line ? ":" + std::to_string(line) : std::string()) + ": "; };
    // "NAME:LINE: " for the line that sets key (to value).
    auto where = [&](const std::string& key, const std::string* value = nullptr) {
        return at_line(detail::config_line_of(text, key, value));
    };
    auto message = [&](const po::error& e) {
        return detail::boost_message(e, text.find('%') != std::string::npos, [&] {
            std::istringstream hidden(detail::percent_hidden(text));
            po::variables_map scratch;
            po::store(po::parse_config_file(hidden, config_file_keys(), false), scratch);
            po::notify(scratch);
        });
    };
    po::variables_map vm;
    try {
        po::store(po::parse_config_file(in, config_file_keys(), false), vm);
        po::notify(vm);
    } catch (const po::invalid_config_file_syntax& e) {
        // Before its base class: the option name of a line that is not
        // "key = value" is empty, the line itself is what to point at.
        throw usage_error(at_line(detail::config_line_holding(text, e.tokens())) +
                          "not a \"key = value\" line: '" + terminal_safe(e.tokens()) + "'");
    } catch (const po::error_with_option_name& e) {
        std::string option = e.get_option_name();
        while (!option.empty() && option.front() == '-') option.erase(0, 1);
        std::size_t line = detail::config_line_of(text, option);
        // Boost names a key under "[SECTION]" as "SECTION.KEY": point at the section.
        if (auto dot = option.find('.'); line == 0 && dot != std::string::npos)
            line = detail::config_line_holding(text, "[" + option.substr(0, dot) + "]");
        throw usage_error(at_line(line) + message(e) +
                          (option.find('.') != std::string::npos ? " (the file has no [sections])" : ""));
    } catch (const po::error& e) {
        throw usage_error(name + ": " + message(e));
    }
    // Each value is checked here, so that a mistake is reported with its
    // line before any tool acts on it.
    auto value_of = [&vm](const char* key) { return vm[key].as<std::string>(); };
    // apply(value), its usage_error named with the line that sets key to value.
    auto checked_value = [&](const char* key, const std::string& value,
                             const std::function<void(const std::string&)>& apply) {
        try {
            apply(value);
        } catch (const usage_error& e) {
            throw usage_error(where(key, &value) + e.what());
        }
    };
    auto checked = [&](const char* key, const std::function<void(const std::string&)>& apply) {
        if (vm.count(key)) checked_value(key, value_of(key), apply);
    };
    s.config_file = name;
    if (vm.count("dir")) s.dir = value_of("dir");
    if (vm.count("archive")) s.archives = vm["archive"].as<std::vector<std::string>>();
    if (vm.count("algo")) s.algo = value_of("algo");
    if (vm.count("sidecar")) s.sidecar = vm["sidecar"].as<bool>();
    checked("syslog", [&](const std::string& v) { detail::apply_syslog_value(s.audit, v); });
    if (vm.count("syslog-socket")) s.audit.socket_path = value_of("syslog-socket");
    checked("audit-log", [&](const std::string& v) {
        if (v.empty() || v.front() != '/') throw usage_error("audit-log: '" + v + "' is not an absolute path");
        s.audit.chain_path = v;
    });
    if (vm.count("interface")) s.interface = value_of("interface");
    if (vm.count("snaplen")) {
        s.snaplen = vm["snaplen"].as<int>();
        if (s.snaplen < 0) throw usage_error(where("snaplen") + "snaplen: must not be negative");
    }
    if (vm.count("user")) s.capture_user = value_of("user");
    if (vm.count("group")) s.capture_group = value_of("group");
    checked("buffer-size", [&](const std::string& v) { s.buffer_bytes = parse_buffer_size(v, "buffer-size"); });
    checked("file-mode", [&](const std::string& v) { s.file_mode = parse_file_mode(v, "file-mode"); });
    if (vm.count("vlan")) s.vlan = vm["vlan"].as<bool>();
    checked("duration", [&](const std::string& v) { parse_duration(v, "duration"); s.duration = v; });
    checked("max-duration", [&](const std::string& v) { parse_duration(v, "max-duration"); s.max_duration = v; });
    checked("stale-age", [&](const std::string& v) { parse_duration(v, "stale-age"); s.stale_age = v; });
    if (vm.count("analyst")) s.analyst = value_of("analyst");
    if (vm.count("link")) {
        s.links.clear();
        for (const auto& value : vm["link"].as<std::vector<std::string>>())
            checked_value("link", value, [&](const std::string& v) { s.links.push_back(parse_link_template(v)); });
    }
}

/// Reads a configuration file into s. Throws usage_error naming the file
/// (and the line) for an unknown key, a bad value, a line that is not
/// "key = value", a file larger than max_config_bytes or an unreadable one.
inline void read_config_file(const std::string& path, settings& s) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw usage_error(path + ": " + errno_text(errno));
    std::string text(max_config_bytes + 1, '\0');
    in.read(&text[0], static_cast<std::streamsize>(text.size()));
    if (in.bad()) throw usage_error(path + ": read error");
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_config_bytes)
        throw usage_error(path + ": larger than " + std::to_string(max_config_bytes >> 20) +
                          " MiB: not a configuration file");
    parse_config_text(text, path, s);
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
