// The syslog audit trail: one line per action, who did what to which files.
//
// We speak the local syslog protocol ourselves (a datagram to /dev/log, as
// glibc's syslog(3) does) instead of calling syslog(3), because syslog(3)
// drops a message silently when the daemon is absent or its socket is full,
// and DESIGN.md forbids losing an audit line silently: every failure to log
// comes back to the caller, who says it on stderr.
#pragma once

#include "capture/text/audit_chain.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/escape.hpp"
#include "capture/sys/fd.hpp"
#include "capture/text/record.hpp"

#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace capture {

/// Where and how audit lines go.
struct audit_settings {
    bool enabled = true;                  ///< false: syslog=off, said once at start
    int facility = LOG_USER;              ///< a LOG_* facility value
    std::string socket_path = "/dev/log"; ///< the local syslog socket
    std::string chain_path;               ///< audit-log: the hash-chained local log, empty: none
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

/// The length of the well-formed UTF-8 sequence at the front of text
/// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF),
/// or 0 when its first byte starts none. Throws nothing.
inline std::size_t utf8_sequence_length(std::string_view text) noexcept {
    if (text.empty()) return 0;
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char c = b(0);
    if (c < 0x80) return 1;
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xbf;  // the range of the second byte
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c == 0xe0) n = 3, lo = 0xa0;
    else if (c == 0xed) n = 3, hi = 0x9f;
    else if (c >= 0xe1 && c <= 0xef) n = 3;
    else if (c == 0xf0) n = 4, lo = 0x90;
    else if (c == 0xf4) n = 4, hi = 0x8f;
    else if (c >= 0xf1 && c <= 0xf3) n = 4;
    else return 0;
    if (text.size() < n || b(1) < lo || b(1) > hi) return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (b(i) < 0x80 || b(i) > 0xbf) return 0;
    return n;
}

/// A value as it appears in an audit line: bare when it is a plain word of
/// printable ASCII, otherwise double-quoted with \" and \\, and \xNN for
/// every control byte (C0, DEL, and the C1 controls U+0080..U+009F) and
/// every byte that is not part of well-formed UTF-8. So any description is
/// logged faithfully and reversibly (read \xNN back as the byte), cannot
/// forge another field or line, and keeps the line valid UTF-8, which
/// journald and RFC 5424 receivers need to show it as text.
inline std::string audit_quote(std::string_view value) {
    bool plain = !value.empty();
    for (unsigned char c : value)
        if (c <= ' ' || c == '"' || c == '\\' || c == '=' || c >= 0x7f) plain = false;
    if (plain) return std::string(value);
    std::string out = "\"";
    for (std::size_t i = 0; i < value.size();) {
        const auto c = static_cast<unsigned char>(value[i]);
        const std::size_t n = utf8_sequence_length(value.substr(i));
        const bool c1 = c1_control_at(value, i);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (n == 0 || c < 0x20 || c == 0x7f || c1) {
            for (std::size_t k = 0; k < (c1 ? 2 : 1); ++k)
                append_hex_escape(out, static_cast<unsigned char>(value[i + k]));
        } else {
            out.append(value.substr(i, n));
        }
        i += n == 0 ? 1 : n;
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

/// The most of one value an audit line carries, in bytes: syslog daemons
/// cut whole lines at a few kilobytes (rsyslog at 8 KiB by default), which
/// would lose the fields after a 100 kB description; the record keeps it all.
inline constexpr std::size_t max_audit_value = 1024;

/// audit_quote(value), or for a value longer than max_audit_value its
/// first max_audit_value bytes (less a UTF-8 sequence cut in two), always
/// quoted, followed by "+N": the N bytes left out.
inline std::string audit_value(std::string_view value) {
    if (value.size() <= max_audit_value) return audit_quote(value);
    std::size_t cut = max_audit_value;
    for (int back = 0; back < 3 && (static_cast<unsigned char>(value[cut]) & 0xc0) == 0x80; ++back) --cut;
    std::string quoted = audit_quote(value.substr(0, cut));
    if (quoted.front() != '"') quoted = '"' + quoted + '"';
    return quoted + "+" + std::to_string(value.size() - cut);
}

/// The message part of an audit line: "action=A outcome=O user=U
/// [sudo_user=S] key=value ..." with the details' fields in order.
inline std::string audit_message(std::string_view action, std::string_view outcome, const actor& who,
                                 const record& details) {
    std::string msg = "action=" + audit_value(action) + " outcome=" + audit_value(outcome) +
                      " user=" + audit_value(who.user);
    if (!who.sudo_user.empty()) msg += " sudo_user=" + audit_value(who.sudo_user);
    for (const auto& [key, value] : details.fields()) msg += " " + key + "=" + audit_value(value);
    return msg;
}

/// An audit line that could not be delivered.
struct audit_miss {
    std::string text;   ///< "syslog: SOCKET: REASON (not logged: LINE)"
    bool news = false;  ///< the first line this process lost, or the first lost for another reason
};

/// The lines one destination of the audit (syslog, the audit-log) could
/// not take, counted for the whole process, so that a tool acting on many
/// files says a lost destination once, at once and with its reason, and
/// the count at the end, instead of once per file. Safe from several
/// threads at once.
class audit_losses {
public:
    /// where names the destination in messages ("syslog: /dev/log").
    explicit audit_losses(std::string where) : where_(std::move(where)) {}

    /// Counts one line lost for reason; returns what to say of it, with
    /// news set when it is the first lost or the reason changed.
    audit_miss note(const std::string& reason, const std::string& message) {
        audit_miss miss;
        miss.text = where_ + ": " + reason + " (not logged: " + message + ")";
        std::lock_guard<std::mutex> lock(mutex_);
        ++lost_;
        miss.news = lost_ == 1 || reason != last_reason_;
        if (lost_ == 1) first_reason_ = reason;
        else if (reason != first_reason_) one_reason_ = false;
        last_reason_ = reason;
        return miss;
    }

    /// How many lines were lost so far.
    std::size_t lost() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return lost_;
    }

    /// "WHERE: REASON (N audit lines not logged)" when more than one line
    /// was lost; nothing when none or one was (that one was said whole).
    std::optional<std::string> summary() const {
        std::lock_guard<std::mutex> lock(mutex_);
        if (lost_ < 2) return std::nullopt;
        return where_ + ": " + (one_reason_ ? first_reason_ : std::string("several reasons, said above")) + " (" +
               std::to_string(lost_) + " audit lines not logged)";
    }

private:
    std::string where_;
    mutable std::mutex mutex_;
    std::size_t lost_ = 0;
    std::string first_reason_, last_reason_;
    bool one_reason_ = true;
};

/// Sends audit lines for one tool to the local syslog socket, and keeps
/// count of the lines it could not deliver, so that a tool acting on many
/// files says a missing syslog once, at once and with its reason, and the
/// count at the end (unlogged_summary), instead of once per file.
class audit_log {
public:
    /// ident is the tool's name (cap-start ...), as it appears in the log.
    audit_log(audit_settings settings, std::string ident)
        : settings_(std::move(settings)), ident_(std::move(ident)), who_(current_actor()),
          syslog_losses_(std::make_shared<audit_losses>("syslog: " + settings_.socket_path)),
          chain_losses_(std::make_shared<audit_losses>("audit-log")) {}

    /// True unless syslog was turned off.
    bool enabled() const { return settings_.enabled; }

    /// Logs one action. Returns an error message when the line could not
    /// be delivered (the caller says it on stderr), nothing when it was or
    /// when syslog is off.
    std::optional<std::string> log(std::string_view action, std::string_view outcome,
                                   const record& details = {}) const {
        if (auto miss = try_log(action, outcome, details)) return std::move(miss->text);
        return std::nullopt;
    }

    /// log(), saying also whether the loss is news (see audit_miss::news):
    /// what a caller that must not repeat itself on stderr needs. Safe to
    /// call from several threads at once.
    std::optional<audit_miss> try_log(std::string_view action, std::string_view outcome,
                                      const record& details = {}) const {
        if (!settings_.enabled) return std::nullopt;
        std::string message = audit_message(action, outcome, who_, details);
        std::string datagram = frame(message);
        auto failure = send(datagram);
        if (!failure) return std::nullopt;
        return syslog_losses_->note(*failure, message);
    }

    /// How many lines this process could not deliver so far.
    std::size_t unlogged() const { return syslog_losses_->lost(); }

    /// What to say at the end when more than one line was lost:
    /// "syslog: SOCKET: REASON (N audit lines not logged)"; nothing when
    /// none or one was (that one was said whole when it was lost).
    std::optional<std::string> unlogged_summary() const { return syslog_losses_->summary(); }

    /// Logs one action to the hash-chained local log (audit-log, see
    /// audit_chain.hpp), when there is one. Returns an error message when
    /// the line could not be written (news as try_log's), nothing when it
    /// was or there is none.
    std::optional<audit_miss> log_chained(std::string_view action, std::string_view outcome,
                                          const record& details) const {
        if (settings_.chain_path.empty()) return std::nullopt;
        std::string message = audit_message(action, outcome, who_, details);
        try {
            append_chained(settings_.chain_path, ident_, message);
        } catch (const std::exception& e) {
            return chain_losses_->note(e.what(), message);
        }
        return std::nullopt;
    }

    /// How many lines the audit-log could not take so far.
    std::size_t unchained() const { return chain_losses_->lost(); }

    /// The audit-log's unlogged_summary().
    std::optional<std::string> unchained_summary() const { return chain_losses_->summary(); }

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
    // Shared by copies: one count per process and destination.
    std::shared_ptr<audit_losses> syslog_losses_;
    std::shared_ptr<audit_losses> chain_losses_;
};

}  // namespace capture
