// Configuration: /etc/capture.conf, the environment, the command line.
//
// Precedence, lowest first: built-in defaults, the configuration file
// (--config, else CAPTURE_CONF, else /etc/capture.conf when present and
// then the drop-ins /etc/capture.d/*.conf in name order), the environment
// (CAPTURE_DIR, CAPTURE_SYSLOG, CAPTURE_SYSLOG_SOCKET), the command line.
// The file is INI ("key = value", '#' comments) read by
// Boost.Program_options; it is shared by every tool, so each tool accepts
// every key even where it has no use for it.
//
// Elevated (privilege.hpp: under sudo, setuid), the system files are read
// first and always, and only when root's and not writable by others; the
// caller's own choices (--config, CAPTURE_CONF, CAPTURE_DIR, --dir,
// CAPTURE_SYSLOG*, --no-syslog, and the admin's keys in a file of the
// caller's) are refused, each with a refusal that the runner logs, unless
// the system files allow them to the caller's group (the allow-* keys).
#pragma once

#include "capture/text/audit.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/file_mode.hpp"
#include "capture/text/links.hpp"
#include "capture/text/output.hpp"
#include "capture/sys/time_arg.hpp"
#include "capture/sys/privilege.hpp"

#include <boost/program_options.hpp>

#include <dirent.h>
#include <sys/statvfs.h>
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
    std::string index_dir;             ///< where capture indexes live; empty: beside each capture (cap-index(5))
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
    std::string max_duration = "1d";   ///< the longest a capture may be asked to run ("0": no bound)
    std::string max_size = "10%";      ///< the largest a capture may grow: a size, or N% of the free space at its start ("0": no bound)
    std::string stale_age = "1d";      ///< cap-ls marks running captures older than this stale
    std::vector<link_template> links;  ///< URL templates of suggested alternate resources
    std::string analyst;               ///< the analyst when -a is not given (engine/analyst.hpp)
    std::vector<std::string> capture_dirs;     ///< more directories an elevated caller may name with --dir
    std::vector<std::string> admin_groups;     ///< elevated, members may stop anyone's capture
    std::vector<std::string> allow_config;     ///< elevated, members may name a file with --config/CAPTURE_CONF
    std::vector<std::string> allow_dir;        ///< elevated, members may name any directory with --dir/CAPTURE_DIR
    std::vector<std::string> allow_no_syslog;  ///< elevated, members may use --no-syslog and CAPTURE_SYSLOG*
    std::string alert_margin = "5m";   ///< cap-pull --from-alert: time before and after each alert's flow
    std::vector<std::string> sensors;  ///< cap-pull --sensor @all: the fleet
    std::vector<std::pair<std::string, std::vector<std::string>>> sensor_groups;  ///< cap-pull --sensor @NAME
    std::string ssh_command = "ssh";   ///< the ssh client of fleet pulls, with options of its own
    std::string sensor_command = "cap-pull";  ///< what a fleet pull runs on each sensor (shell text)
    std::string sensor_timeout = "10m";  ///< a sensor silent this long while the merge waits for it is given up
};

/// The keys only the admin's files (/etc/capture.conf, /etc/capture.d)
/// may set when a tool is elevated: who a capture runs as, its files'
/// modes, the audit trail, the bounds, and the allowances themselves.
inline const std::vector<std::string>& admin_only_keys() {
    static const std::vector<std::string> keys{
        "user", "group", "file-mode", "syslog", "syslog-socket", "max-duration", "max-size",
        "capture-dir", "admin-group", "allow-config", "allow-dir", "allow-no-syslog",
        // The commands a fleet pull runs: under sudo, as root.
        "ssh-command", "sensor-command"};
    return keys;
}

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

/// The directory of the system's drop-in files (*.conf, read in name
/// order after system_config_path()).
inline const char* system_config_dir() { return "/etc/capture.d"; }

/// The largest a capture may grow under max_size (a size, or "N%" of the
/// space free to unprivileged users on dir's file system now), 0 for no
/// bound. Throws usage_error for a bad value, error when dir's file
/// system cannot be asked.
inline std::uint64_t max_size_bytes(const std::string& max_size, const std::string& dir) {
    if (!max_size.empty() && max_size.back() == '%') {
        std::string n = max_size.substr(0, max_size.size() - 1);
        if (n.empty() || n.size() > 3 || n.find_first_not_of("0123456789") != std::string::npos || std::stoi(n) < 1 ||
            std::stoi(n) > 100)
            throw usage_error("max-size: '" + max_size + "' is not a size nor a share from 1% to 100%");
        struct statvfs vfs {};
        if (::statvfs(dir.c_str(), &vfs) != 0) throw system_failure(dir);
        std::uint64_t free_bytes = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
        return std::max<std::uint64_t>(free_bytes / 100 * static_cast<std::uint64_t>(std::stoi(n)), 24);
    }
    return parse_size(max_size, "max-size");
}

/// A list of group names: split at commas and blanks.
inline std::vector<std::string> parse_group_list(const std::string& text) {
    std::vector<std::string> out;
    std::string word;
    for (char c : text + ",") {
        if (c == ',' || c == ' ' || c == '\t') {
            if (!word.empty()) out.push_back(word);
            word.clear();
        } else {
            word += c;
        }
    }
    return out;
}

/// Group names as a configuration value: "a,b".
inline std::string group_list_text(const std::vector<std::string>& groups) {
    std::string out;
    for (const auto& g : groups) out += (out.empty() ? "" : ",") + g;
    return out;
}

/// A caller's choice that an elevated tool refused: exit 2, and an audit
/// line (written by the runner with the admin's audit settings) saying
/// what was refused and who asked.
class refusal : public usage_error {
public:
    /// what: the option, variable or key; value: what it was given.
    refusal(std::string what, std::string value, std::string reason, audit_settings audit)
        : usage_error(what + ": refused: " + reason), what_(std::move(what)), value_(std::move(value)),
          reason_(std::move(reason)), audit_(std::move(audit)) {}
    const std::string& refused() const { return what_; }   ///< the option, variable or key
    const std::string& value() const { return value_; }    ///< what it was given
    const std::string& reason() const { return reason_; }  ///< why it was refused
    const audit_settings& audit() const { return audit_; } ///< where the refusal is logged

private:
    std::string what_, value_, reason_;
    audit_settings audit_;
};

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
        ("index-dir", po::value<std::string>(), "directory of capture indexes (for read-only archives)")
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
        ("analyst", po::value<std::string>(), "the analyst when -a is not given")
        ("max-size", po::value<std::string>(), "largest a capture may grow: a size or N% of the free space")
        ("capture-dir", po::value<std::vector<std::string>>()->composing(), "another directory --dir may name under sudo (repeatable)")
        ("admin-group", po::value<std::string>(), "groups whose members may stop anyone's capture under sudo")
        ("allow-config", po::value<std::string>(), "groups whose members may name a configuration file under sudo")
        ("allow-dir", po::value<std::string>(), "groups whose members may name any directory under sudo")
        ("allow-no-syslog", po::value<std::string>(), "groups whose members may turn the audit trail off under sudo")
        ("alert-margin", po::value<std::string>(), "time cap-pull --from-alert takes before and after each alert's flow")
        ("sensors", po::value<std::vector<std::string>>()->composing(), "sensors of cap-pull --sensor @all (blank-separated, repeatable)")
        ("sensor-group", po::value<std::vector<std::string>>()->composing(), "NAME: SENSOR... a group for cap-pull --sensor @NAME (repeatable)")
        ("ssh-command", po::value<std::string>(), "the ssh client a fleet pull runs, with its options")
        ("sensor-command", po::value<std::string>(), "what a fleet pull runs on each sensor (shell text)")
        ("sensor-timeout", po::value<std::string>(), "a sensor silent this long while a fleet pull waits for it is given up");
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

/// How a configuration file is read.
struct config_reading {
    /// Messages may quote the file's text: false when the caller could
    /// not read the file themselves (an elevated tool must not be a way
    /// to read a line of any file); a message then names the line only.
    bool show_text = true;
    /// When given, receives every key the file sets.
    std::vector<std::string>* keys_set = nullptr;
};

/// Reads the text of a configuration file (name, for messages) into s.
/// Throws usage_error naming the file and the line for an unknown key, a
/// bad value or a line that is not "key = value" (quoting the text only
/// when how.show_text).
inline void parse_config_text(const std::string& text, const std::string& name, settings& s,
                              const config_reading& how = {}) {
    namespace po = boost::program_options;
    std::istringstream in(text);
    auto at_line = [&](std::size_t line) { return name + (line ? ":" + std::to_string(line) : std::string()) + ": "; };
    const std::string not_shown = " (its text is not shown: the caller cannot read this file)";
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
        std::size_t line = detail::config_line_holding(text, e.tokens());
        if (!how.show_text) throw usage_error(at_line(line) + "not a \"key = value\" line" + not_shown);
        throw usage_error(at_line(line) + "not a \"key = value\" line: '" + terminal_safe(e.tokens()) + "'");
    } catch (const po::error_with_option_name& e) {
        std::string option = e.get_option_name();
        while (!option.empty() && option.front() == '-') option.erase(0, 1);
        std::size_t line = detail::config_line_of(text, option);
        // Boost names a key under "[SECTION]" as "SECTION.KEY": point at the section.
        if (auto dot = option.find('.'); line == 0 && dot != std::string::npos)
            line = detail::config_line_holding(text, "[" + option.substr(0, dot) + "]");
        if (!how.show_text) {
            bool known = config_file_keys().find_nothrow(option, false) != nullptr;
            throw usage_error(at_line(line) + (known ? option + ": a bad value" : std::string("an unknown key or a bad line")) +
                              not_shown);
        }
        throw usage_error(at_line(line) + message(e) +
                          (option.find('.') != std::string::npos ? " (the file has no [sections])" : ""));
    } catch (const po::error& e) {
        throw usage_error(name + ": " + (how.show_text ? message(e) : "not a configuration file" + not_shown));
    }
    if (how.keys_set)
        for (const auto& [key, value] : vm) how.keys_set->push_back(key);
    // Each value is checked here, so that a mistake is reported with its
    // line before any tool acts on it.
    auto value_of = [&vm](const char* key) { return vm[key].as<std::string>(); };
    // apply(value), its usage_error named with the line that sets key to value.
    auto checked_value = [&](const char* key, const std::string& value,
                             const std::function<void(const std::string&)>& apply) {
        try {
            apply(value);
        } catch (const usage_error& e) {
            throw usage_error(where(key, &value) + (how.show_text ? e.what() : key + std::string(": a bad value") + not_shown));
        }
    };
    auto checked = [&](const char* key, const std::function<void(const std::string&)>& apply) {
        if (vm.count(key)) checked_value(key, value_of(key), apply);
    };
    s.config_file = name;
    if (vm.count("dir")) s.dir = value_of("dir");
    if (vm.count("archive")) s.archives = vm["archive"].as<std::vector<std::string>>();
    if (vm.count("index-dir")) s.index_dir = value_of("index-dir");
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
    checked("max-size", [&](const std::string& v) {
        if (v.empty() || v.back() != '%') parse_size(v, "max-size");
        else max_size_bytes(v, "/");
        s.max_size = v;
    });
    checked("stale-age", [&](const std::string& v) { parse_duration(v, "stale-age"); s.stale_age = v; });
    if (vm.count("analyst")) s.analyst = value_of("analyst");
    checked("alert-margin", [&](const std::string& v) {
        auto comma = v.find(',');  // "BEFORE,AFTER", or one duration for both
        parse_duration(std::string_view(v).substr(0, comma), "alert-margin");
        if (comma != std::string::npos) parse_duration(std::string_view(v).substr(comma + 1), "alert-margin");
        s.alert_margin = v;
    });
    if (vm.count("sensors")) {
        s.sensors.clear();
        for (const auto& value : vm["sensors"].as<std::vector<std::string>>())
            for (const auto& name : parse_group_list(value)) s.sensors.push_back(name);
    }
    if (vm.count("sensor-group")) {
        s.sensor_groups.clear();
        for (const auto& value : vm["sensor-group"].as<std::vector<std::string>>())
            checked_value("sensor-group", value, [&](const std::string& v) {
                auto colon = v.find(':');
                std::vector<std::string> name = parse_group_list(v.substr(0, colon == std::string::npos ? 0 : colon));
                if (colon == std::string::npos || name.size() != 1)
                    throw usage_error("sensor-group: '" + v + "' is not 'NAME: SENSOR...'");
                if (name[0] == "all") throw usage_error("sensor-group: 'all' is the 'sensors' list's name");
                s.sensor_groups.emplace_back(name[0], parse_group_list(v.substr(colon + 1)));
            });
    }
    if (vm.count("ssh-command")) s.ssh_command = value_of("ssh-command");
    if (vm.count("sensor-command")) s.sensor_command = value_of("sensor-command");
    checked("sensor-timeout", [&](const std::string& v) { parse_duration(v, "sensor-timeout"); s.sensor_timeout = v; });
    if (vm.count("link")) {
        s.links.clear();
        for (const auto& value : vm["link"].as<std::vector<std::string>>())
            checked_value("link", value, [&](const std::string& v) { s.links.push_back(parse_link_template(v)); });
    }
    if (vm.count("capture-dir")) s.capture_dirs = vm["capture-dir"].as<std::vector<std::string>>();
    if (vm.count("admin-group")) s.admin_groups = parse_group_list(value_of("admin-group"));
    if (vm.count("allow-config")) s.allow_config = parse_group_list(value_of("allow-config"));
    if (vm.count("allow-dir")) s.allow_dir = parse_group_list(value_of("allow-dir"));
    if (vm.count("allow-no-syslog")) s.allow_no_syslog = parse_group_list(value_of("allow-no-syslog"));
}

/// Reads a configuration file into s. Throws usage_error naming the file
/// (and the line) for an unknown key, a bad value, a line that is not
/// "key = value", a file larger than max_config_bytes or an unreadable one.
inline void read_config_file(const std::string& path, settings& s, const config_reading& how = {}) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw usage_error(path + ": " + errno_text(errno));
    std::string text(max_config_bytes + 1, '\0');
    in.read(&text[0], static_cast<std::streamsize>(text.size()));
    if (in.bad()) throw usage_error(path + ": read error");
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_config_bytes)
        throw usage_error(path + ": larger than " + std::to_string(max_config_bytes >> 20) +
                          " MiB: not a configuration file");
    parse_config_text(text, path, s, how);
}

/// The system's configuration files that exist: system_config_path(),
/// then system_config_dir()'s *.conf (not hidden) in name order. Throws
/// nothing (a drop-in directory that cannot be listed yields none).
inline std::vector<std::string> system_config_files() {
    std::vector<std::string> files;
    if (::access(system_config_path(), F_OK) == 0) files.push_back(system_config_path());
    std::vector<std::string> names;
    if (DIR* d = ::opendir(system_config_dir())) {
        while (const dirent* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name.size() > 5 && name[0] != '.' && name.compare(name.size() - 5, 5, ".conf") == 0)
                names.push_back(name);
        }
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) files.push_back(std::string(system_config_dir()) + "/" + n);
    return files;
}

/// The capture directories an elevated caller may name: the system's
/// dir (or the default) and its capture-dir list.
inline std::vector<std::string> configured_capture_dirs(const settings& system, const std::string& fallback) {
    std::vector<std::string> dirs{system.dir.empty() ? fallback : system.dir};
    dirs.insert(dirs.end(), system.capture_dirs.begin(), system.capture_dirs.end());
    return dirs;
}

/// What the caller chose on the command line, for load_settings.
struct caller_choices {
    std::string config;      ///< --config, empty when not given
    std::string dir;         ///< --dir, empty when not given
    bool no_syslog = false;  ///< --no-syslog
};

/// Settings from the defaults, the files, the environment and the
/// caller's choices, with precedence applied (see the header comment).
/// Elevated (p), a choice the admin did not allow throws refusal, and a
/// system file that is not root's and safe throws refusal too (its
/// keys would be anyone's). Throws usage_error for a bad file or value.
inline settings load_settings(const caller_choices& asked, const privilege& p) {
    settings s;
    std::string path = asked.config;
    std::string path_from = "--config";
    if (path.empty())
        if (const char* env = std::getenv("CAPTURE_CONF"); env && *env) path = env, path_from = "CAPTURE_CONF";
    const char* env_dir = std::getenv("CAPTURE_DIR");
    const char* env_syslog = std::getenv("CAPTURE_SYSLOG");
    const char* env_socket = std::getenv("CAPTURE_SYSLOG_SOCKET");
    auto apply_env_syslog = [&] {
        if (env_syslog && *env_syslog) {
            try {
                detail::apply_syslog_value(s.audit, env_syslog);
            } catch (const usage_error& e) {
                throw usage_error(std::string("CAPTURE_SYSLOG: ") + e.what());
            }
        }
        if (env_socket && *env_socket) s.audit.socket_path = env_socket;
    };

    if (!p.elevated) {
        if (!path.empty()) {
            read_config_file(path, s);
        } else {
            for (const auto& f : system_config_files()) read_config_file(f, s);
        }
        if (env_dir && *env_dir) s.dir = env_dir;
        apply_env_syslog();
        if (!asked.dir.empty()) s.dir = asked.dir;
        if (asked.no_syslog) s.audit.enabled = false;
        if (s.dir.empty()) s.dir = default_capture_dir();
        return s;
    }

    // Elevated: the admin's files first, each checked, none quoted to a
    // caller who could not read it.
    for (const auto& f : system_config_files()) {
        if (std::string why = untrusted_config_reason(f); !why.empty())
            throw refusal(f, "", "not read when running with more privilege than the caller (" + p.how +
                                     "): " + why + "; it must be root's and not writable by others", s.audit);
        read_config_file(f, s, config_reading{caller_may_access(p, f, R_OK), nullptr});
    }
    const settings admin = s;
    const std::vector<std::string> allowed_dirs = configured_capture_dirs(admin, default_capture_dir());
    auto refuse = [&](const std::string& what, const std::string& value, const std::string& reason) {
        throw refusal(what, value, reason + " (running as root for " + p.caller + " by " + p.how + ")", admin.audit);
    };
    auto groups_text = [](const std::vector<std::string>& g) {
        return g.empty() ? std::string("none") : group_list_text(g);
    };

    if (!path.empty()) {
        if (!caller_in_any(p, admin.allow_config))
            refuse(path_from, path, "a configuration file of the caller's is read only for members of allow-config (" +
                                        groups_text(admin.allow_config) + ")");
        if (!caller_may_access(p, path, R_OK)) refuse(path_from, path, "the caller cannot read it");
        std::vector<std::string> keys;
        settings mine = s;
        read_config_file(path, mine, config_reading{true, &keys});
        std::vector<std::string> admins;
        for (const auto& k : keys)
            if (std::find(admin_only_keys().begin(), admin_only_keys().end(), k) != admin_only_keys().end())
                admins.push_back(k);
        if (!admins.empty())
            refuse(path_from, path, "the admin's keys (" + group_list_text(admins) + ") may be set only in " +
                                        system_config_path() + " or " + system_config_dir());
        mine.config_file = path;
        s = mine;
    }

    if (!caller_in_any(p, admin.allow_no_syslog)) {
        if (asked.no_syslog)
            refuse("--no-syslog", "", "the audit trail is the admin's: only members of allow-no-syslog (" +
                                          groups_text(admin.allow_no_syslog) + ") may turn it off");
        if (env_syslog && *env_syslog) refuse("CAPTURE_SYSLOG", env_syslog, "the audit trail is the admin's");
        if (env_socket && *env_socket) refuse("CAPTURE_SYSLOG_SOCKET", env_socket, "the audit trail is the admin's");
    }
    apply_env_syslog();
    if (asked.no_syslog) s.audit.enabled = false;

    std::string dir_from;
    if (s.dir != admin.dir) dir_from = path_from;  // from the caller's file
    if (env_dir && *env_dir) s.dir = env_dir, dir_from = "CAPTURE_DIR";
    if (!asked.dir.empty()) s.dir = asked.dir, dir_from = "--dir";
    if (s.dir.empty()) s.dir = default_capture_dir();
    if (!dir_from.empty() && !caller_in_any(p, admin.allow_dir)) {
        bool inside = false;
        try {
            inside = path_within(s.dir, allowed_dirs);
        } catch (const error&) {
            inside = false;
        }
        if (!inside) {
            std::string list;
            for (const auto& d : allowed_dirs) list += (list.empty() ? "" : ", ") + d;
            refuse(dir_from, s.dir, "not inside the configured capture directories (" + list + ")");
        }
    }
    return s;
}

/// load_settings for a process that is not elevated, with --config only.
inline settings load_settings(const std::string& explicit_config) {
    caller_choices asked;
    asked.config = explicit_config;
    return load_settings(asked, privilege{});
}

}  // namespace capture
