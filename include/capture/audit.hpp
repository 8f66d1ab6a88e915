// The syslog audit trail: one line per action, who did what to which files.
//
// We speak the local syslog protocol ourselves (a datagram to /dev/log, as
// glibc's syslog(3) does) instead of calling syslog(3), because syslog(3)
// drops a message silently when the daemon is absent or its socket is full,
// and DESIGN.md forbids losing an audit line silently: every failure to log
// comes back to the caller, who says it on stderr.
#pragma once

#include "capture/error.hpp"
#include "capture/fd.hpp"
#include "capture/record.hpp"

#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace capture {

/// Where and how audit lines go.
struct audit_settings {
    bool enabled = true;                  ///< false: syslog=off, said once at start
    int facility = LOG_USER;              ///< a LOG_* facility value
    std::string socket_path = "/dev/log"; ///< the local syslog socket
};

/// The facility named (user, daemon, auth, authpriv, local0..local7).
/// Throws usage_error for any other name.
inline int facility_from_name(std::string_view name) {
    struct entry { std::string_view name; int value; };
    static const entry table[] = {
        {"user", LOG_USER},     {"daemon", LOG_DAEMON}, {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV},
        {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
        {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
    };
    for (const auto& e : table)
        if (e.name == name) return e.value;
    throw usage_error("unknown syslog facility '" + std::string(name) +
                      "' (user, daemon, auth, authpriv, local0 ... local7)");
}

/// A value as it appears in an audit line: bare when it is a plain word,
/// otherwise double-quoted with \" \\ and \xNN for control bytes, so any
/// description is logged faithfully and cannot forge another field or line.
inline std::string audit_quote(std::string_view value) {
    bool plain = !value.empty();
    for (unsigned char c : value)
        if (c <= ' ' || c == '"' || c == '\\' || c == '=' || c == 0x7f) plain = false;
    if (plain) return std::string(value);
    static const char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (unsigned char c : value) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xF];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + '"';
}

/// The people behind this process: the real user, the sudo user if any.
struct actor {
    std::string user;       ///< the real user's name (or uid)
    std::string sudo_user;  ///< SUDO_USER, empty when not under sudo
};

/// Who runs this process.
inline actor current_actor() {
    actor a;
    uid_t uid = ::getuid();
    if (const passwd* pw = ::getpwuid(uid)) a.user = pw->pw_name;
    else a.user = std::to_string(uid);
    if (const char* s = std::getenv("SUDO_USER")) a.sudo_user = s;
    return a;
}

/// The message part of an audit line: "action=A outcome=O user=U
/// [sudo_user=S] key=value ..." with the details' fields in order.
inline std::string audit_message(std::string_view action, std::string_view outcome, const actor& who,
                                 const record& details) {
    std::string msg = "action=" + audit_quote(action) + " outcome=" + audit_quote(outcome) +
                      " user=" + audit_quote(who.user);
    if (!who.sudo_user.empty()) msg += " sudo_user=" + audit_quote(who.sudo_user);
    for (const auto& [key, value] : details.fields()) msg += " " + key + "=" + audit_quote(value);
    return msg;
}

/// Sends audit lines for one tool to the local syslog socket.
class audit_log {
public:
    /// ident is the tool's name (cap-start ...), as it appears in the log.
    audit_log(audit_settings settings, std::string ident)
        : settings_(std::move(settings)), ident_(std::move(ident)), who_(current_actor()) {}

    /// True unless syslog was turned off.
    bool enabled() const { return settings_.enabled; }

    /// Logs one action. Returns an error message when the line could not
    /// be delivered (the caller says it on stderr), nothing when it was or
    /// when syslog is off.
    std::optional<std::string> log(std::string_view action, std::string_view outcome,
                                   const record& details = {}) const {
        if (!settings_.enabled) return std::nullopt;
        std::string message = audit_message(action, outcome, who_, details);
        std::string datagram = frame(message);
        if (auto failure = send(datagram))
            return "syslog: " + settings_.socket_path + ": " + *failure + " (not logged: " + message + ")";
        return std::nullopt;
    }

private:
    // The format glibc's syslog(3) sends to the local socket:
    // "<PRI>Mmm dd hh:mm:ss ident[pid]: message".
    std::string frame(const std::string& message) const {
        char stamp[32];
        std::time_t now = std::time(nullptr);
        std::tm tm{};
        ::localtime_r(&now, &tm);
        std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
        int pri = settings_.facility | LOG_INFO;
        return "<" + std::to_string(pri) + ">" + stamp + " " + ident_ + "[" + std::to_string(::getpid()) +
               "]: " + message;
    }

    std::optional<std::string> send(const std::string& datagram) const {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (settings_.socket_path.size() >= sizeof addr.sun_path) return std::string("socket path too long");
        settings_.socket_path.copy(addr.sun_path, sizeof addr.sun_path - 1);
        // A datagram socket first, as syslogd listens; a stream socket when
        // the listener is one (some minimal daemons), NUL-terminated as glibc does.
        for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
            unique_fd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
            if (!fd) return errno_text(errno);
            if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
                if (errno == EPROTOTYPE && type == SOCK_DGRAM) continue;
                return errno_text(errno);
            }
            std::size_t length = datagram.size() + (type == SOCK_STREAM ? 1 : 0);
            ssize_t n;
            do n = ::send(fd.get(), datagram.c_str(), length, MSG_NOSIGNAL);
            while (n < 0 && errno == EINTR);
            if (n < 0) return errno_text(errno);
            if (static_cast<std::size_t>(n) != length) return std::string("short write");
            return std::nullopt;
        }
        return std::string("no usable socket type");
    }

    audit_settings settings_;
    std::string ident_;
    actor who_;
};

}  // namespace capture
