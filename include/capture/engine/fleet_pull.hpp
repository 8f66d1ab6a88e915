// A fleet pull: the same pull run on many sensors over the system's ssh
// client, their pcap streams merged in time order as they arrive.
//
// Nothing of ours listens on the network: each sensor is one child process,
// `ssh [ssh-command's options] -o BatchMode=yes -- SENSOR 'cap-pull ... -w -'`,
// with the user's own ~/.ssh/config, keys, agent, ControlMaster and
// known_hosts checking as they are (BatchMode only keeps ssh from asking
// for a password or a host key on a terminal it must not use). The remote
// cap-pull writes its capture on its standard output; ssh carries it back.
//
// A sensor's stream is pcap, or pcapng when the pull here writes pcapng
// (the remote pull is asked for -F pcapng then): a sensor whose window
// holds several link types sends one interface for each, and each becomes
// an interface of the output named after the sensor.
//
// One thread polls every sensor's two pipes. Each sensor's stream is read
// into its own bounded buffer (pcap_stream) only while it has room, so a
// sensor that runs ahead of the merge is held back by its pipe (and, through
// ssh's window, the remote pull), never by our memory: a fleet of N holds
// at most N buffers. The merge is cap-merge's: at each step the earliest
// packet among the sensors' next ones, a tie going to the sensor named
// first (merge.hpp's key_less), so the output is byte for byte what
// cap-merge makes of the sensors' own pulls, given in the same order. The
// merge can only write a packet when every sensor still sending has one
// waiting; a sensor that sends nothing for the timeout while we wait for
// it is given up.
//
// A sensor that fails (ssh refuses the host key, cannot connect, the remote
// pull fails or is killed, the stream breaks, the timeout) is ended and
// reported with its reason: what we saw, ssh's exit status and the last
// line it wrote on standard error. The packets it sent before are kept;
// the others go on.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/engine/merge.hpp"
#include "capture/pcap/capture_writer.hpp"
#include "capture/pcap/pcap_stream.hpp"
#include "capture/sys/child_process.hpp"
#include "capture/sys/error.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace capture {

/// How the sensors are reached.
struct fleet_settings {
    std::vector<std::string> ssh_command{"ssh"};  ///< the ssh client and options of ours (the 'ssh-command' key)
    std::string sensor_command = "cap-pull";      ///< shell text run on each sensor before the pull's arguments
    std::chrono::milliseconds timeout{std::chrono::minutes(10)};  ///< a sensor silent this long while awaited is given up (0: never)
};

/// s quoted for a POSIX shell: 'it'\''s'. Throws only std::bad_alloc.
inline std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

/// The words of a command given as one line ("ssh -F /etc/x"): split at
/// blanks, no quoting. Throws only std::bad_alloc.
inline std::vector<std::string> split_words(const std::string& text) {
    std::vector<std::string> words;
    std::string w;
    for (char c : text + " ") {
        if (c == ' ' || c == '\t') {
            if (!w.empty()) words.push_back(w);
            w.clear();
        } else {
            w += c;
        }
    }
    return words;
}

/// Refuses a sensor name ssh could take for an option or that holds
/// blanks or control characters. Throws usage_error.
inline void check_sensor_name(const std::string& name) {
    if (name.empty()) throw usage_error("an empty sensor name");
    if (name.front() == '-') throw usage_error("sensor '" + name + "': a name must not start with '-'");
    for (unsigned char c : name)
        if (c <= ' ' || c == 0x7f || c == '\'' || c == '"' || c == '\\')
            throw usage_error("sensor '" + name + "': a name holds no blank, quote or control character");
}

/// The command line that runs remote_args on sensor: ssh's words, BatchMode,
/// the sensor, and the remote command as one line for the remote shell,
/// every argument quoted. Throws only std::bad_alloc.
inline std::vector<std::string> sensor_argv(const fleet_settings& s, const std::string& sensor,
                                            const std::vector<std::string>& remote_args) {
    std::vector<std::string> argv = s.ssh_command;
    if (argv.empty()) argv.push_back("ssh");
    argv.insert(argv.end(), {"-o", "BatchMode=yes", "--", sensor});
    std::string remote = s.sensor_command;
    for (const auto& a : remote_args) remote += " " + shell_quote(a);
    argv.push_back(remote);
    return argv;
}

/// What a sensor's last lines on standard error say of why it ended: the
/// last of them, passing over the usage hint a tool prints after its
/// message ("Try 'cap-pull --help' for more information."), which says
/// nothing of why. Throws only std::bad_alloc.
inline std::string last_words(const std::vector<std::string>& said) {
    for (auto it = said.rbegin(); it != said.rend(); ++it) {
        const std::string& line = *it;
        const bool hint = line.rfind("Try '", 0) == 0 && line.find("--help' for more information") != std::string::npos;
        if (!hint) return line;
    }
    return said.empty() ? std::string() : said.back();
}

/// What one sensor answered to a short command (a dry run).
struct fleet_answer {
    std::string name;    ///< the sensor
    std::string out;     ///< its standard output (at most max_answer_bytes)
    std::vector<std::string> said;  ///< its last lines on standard error (at most 8)
    std::string reason;  ///< empty when ssh exited 0; else why not
};

/// The most of a sensor's answer kept.
inline constexpr std::size_t max_answer_bytes = std::size_t{16} << 20;

/// Runs remote_args on every sensor at once and collects their answers,
/// giving up on one silent for the timeout. Throws only std::bad_alloc.
inline std::vector<fleet_answer> ask_sensors(const std::vector<std::string>& sensors,
                                             const std::vector<std::string>& remote_args,
                                             const fleet_settings& settings) {
    struct asking {
        fleet_answer a;
        child_process child;
        std::string err;
        std::chrono::steady_clock::time_point last;
    };
    std::vector<asking> all(sensors.size());
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < sensors.size(); ++i) {
        all[i].a.name = sensors[i];
        all[i].last = now;
        try {
            all[i].child = child_process::spawn(sensor_argv(settings, sensors[i], remote_args));
        } catch (const error& e) {
            all[i].a.reason = e.what();
        }
    }
    auto add_line = [](asking& q, std::string line) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.empty()) return;
        q.a.said.push_back(line.substr(0, 1024));
        if (q.a.said.size() > 8) q.a.said.erase(q.a.said.begin());
    };
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<std::pair<asking*, bool>> who;
        for (auto& q : all) {
            if (q.child.out_fd() >= 0 || q.child.err_fd() >= 0) {
                if (settings.timeout.count() > 0 && std::chrono::steady_clock::now() - q.last > settings.timeout) {
                    q.a.reason = "no answer for " + std::to_string(settings.timeout.count() / 1000) +
                                 " s (the sensor timeout)";
                    q.child.kill_and_reap();
                    q.child.close_out();
                    q.child.close_err();
                    continue;
                }
            }
            if (q.child.out_fd() >= 0) fds.push_back(pollfd{q.child.out_fd(), POLLIN, 0}), who.emplace_back(&q, true);
            if (q.child.err_fd() >= 0) fds.push_back(pollfd{q.child.err_fd(), POLLIN, 0}), who.emplace_back(&q, false);
        }
        if (fds.empty()) break;
        if (::poll(fds.data(), fds.size(), 250) <= 0) continue;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            asking& q = *who[i].first;
            char buf[65536];
            const int fd = who[i].second ? q.child.out_fd() : q.child.err_fd();
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) {
                if (who[i].second) q.child.close_out();
                else q.child.close_err();
                continue;
            }
            q.last = std::chrono::steady_clock::now();
            if (who[i].second) {
                if (q.a.out.size() < max_answer_bytes) q.a.out.append(buf, static_cast<std::size_t>(n));
            } else {
                q.err.append(buf, static_cast<std::size_t>(n));
                for (std::size_t nl; (nl = q.err.find('\n')) != std::string::npos;) {
                    add_line(q, q.err.substr(0, nl));
                    q.err.erase(0, nl + 1);
                }
            }
        }
    }
    std::vector<fleet_answer> answers;
    for (auto& q : all) {
        if (!q.err.empty()) add_line(q, q.err);
        if (auto st = q.child.reap(true); st && q.a.reason.empty() && !(WIFEXITED(*st) && WEXITSTATUS(*st) == 0))
            q.a.reason = "ssh: " + wait_status_text(*st) + (q.a.said.empty() ? "" : ": " + last_words(q.a.said));
        answers.push_back(std::move(q.a));
    }
    return answers;
}

/// One sensor of a fleet pull, as it stands.
struct fleet_sensor {
    std::string name;                 ///< as given (what ssh is told)
    std::size_t index = 0;            ///< its place among the sensors (ties go to the lower)
    std::string state = "starting";   ///< starting, running, sent (all came), then done, partial, failed, interrupted
    std::string reason;               ///< why it failed (or what the remote said of a partial pull)
    std::vector<std::string> said;    ///< the remote's last lines on standard error (at most 8)
    std::uint64_t received = 0;       ///< bytes of pcap received
    std::uint64_t packets = 0;        ///< packets of it in the output
    std::optional<timestamp> first, last;  ///< its first and last packet in the output
    bool nanoseconds = false;         ///< its stream has timestamps finer than microseconds
    std::vector<interface_info> interfaces;  ///< its stream's (once its header is read): pcap's one, pcapng's
};

namespace detail {

// What the loop keeps of one sensor beyond what it reports.
struct fleet_source {
    fleet_sensor info;
    child_process child;
    pcap_stream stream;
    std::string err_text;             // standard error not yet split into lines
    bool out_eof = false;
    bool exhausted = false;           // every packet merged (or given up)
    bool in_heap = false;
    bool failed = false;              // given up by us (reason set)
    std::vector<std::uint32_t> ifaces;  // the output's interface for each of the stream's
    std::chrono::steady_clock::time_point last_data;
    // Messages come after the sensor's name: "s3: its pcap stream ended ...".
    fleet_source() : stream("its pcap stream") {}
};

}  // namespace detail

/// The sensors' processes and streams, from the start of their ssh to
/// the end of the merge.
class fleet_pull {
public:
    /// Starts ssh for every sensor (see sensor_argv). A sensor whose ssh
    /// cannot even be started is failed with the reason. Throws only
    /// std::bad_alloc.
    fleet_pull(const std::vector<std::string>& sensors, const std::vector<std::string>& remote_args,
               fleet_settings settings)
        : settings_(std::move(settings)) {
        const auto now = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < sensors.size(); ++i) {
            auto s = std::make_unique<detail::fleet_source>();
            s->info.name = sensors[i];
            s->info.index = i;
            s->last_data = now;
            try {
                s->child = child_process::spawn(sensor_argv(settings_, sensors[i], remote_args));
#ifdef F_SETPIPE_SZ
                // Fewer, larger reads; a refusal leaves the default size.
                ::fcntl(s->child.out_fd(), F_SETPIPE_SZ, 1 << 20);
#endif
                s->info.state = "running";
            } catch (const error& e) {
                give_up(*s, e.what());
            }
            sources_.push_back(std::move(s));
        }
    }
    fleet_pull(const fleet_pull&) = delete;
    fleet_pull& operator=(const fleet_pull&) = delete;

    /// Reads until every sensor has sent its pcap header or ended. tick is
    /// called at least every 250 ms. Returns false when stop was set.
    /// Throws only std::bad_alloc.
    bool wait_headers(const std::atomic<bool>& stop, const std::function<void()>& tick = {}) {
        for (;;) {
            bool waiting = false;
            for (auto& s : sources_) {
                if (s->exhausted || s->stream.has_header()) continue;
                if (!try_next(*s, false)) waiting = true;
            }
            if (!waiting) return true;
            if (stop.load()) return false;
            pump(tick);
        }
    }

    /// The sensors that have a header and are still in the pull.
    std::vector<fleet_sensor*> ready() {
        std::vector<fleet_sensor*> r;
        for (auto& s : sources_)
            if (!s->exhausted && s->stream.has_header()) r.push_back(&s->info);
        return r;
    }

    /// Merges the ready sensors' packets into out in time order, as they
    /// arrive. declare(sensor, interface) gives the output interface of
    /// each of a ready sensor's interfaces, called in sensor order, then
    /// the stream's, before any packet is written; a sensor for which it
    /// throws error is failed with that reason. Returns false when stop was
    /// set (every ssh is then ended). Throws error when out cannot be
    /// written.
    bool merge(capture_writer& out,
               const std::function<std::uint32_t(const fleet_sensor&, const interface_info&)>& declare,
               const std::atomic<bool>& stop, const std::function<void()>& tick = {}) {
        merging_ = true;
        for (auto& s : sources_) {
            if (s->exhausted) continue;
            try {
                for (const interface_info& i : s->info.interfaces) s->ifaces.push_back(declare(s->info, i));
            } catch (const error& e) {
                give_up(*s, e.what());
            }
        }
        std::vector<detail::merge_key> heap;
        std::vector<detail::fleet_source*> waiting;
        for (auto& s : sources_)
            if (!s->exhausted) waiting.push_back(s.get());
        auto key_of = [](detail::fleet_source& s, std::uint32_t slot) {
            const packet_view p = s.stream.packet();
            return detail::merge_key{p.ts.sec, p.ts.nsec, static_cast<std::uint32_t>(s.info.index), slot};
        };
        for (;;) {
            // Every sensor not in the heap needs a packet before the merge
            // may go on (or must be seen to have ended).
            for (std::size_t i = 0; i < waiting.size();) {
                detail::fleet_source& s = *waiting[i];
                if (!s.exhausted && try_next(s, true)) {
                    heap.push_back(key_of(s, slot_of(s)));
                    detail::sift_up(heap, heap.size() - 1);
                    s.in_heap = true;
                }
                if (s.in_heap || s.exhausted) {
                    waiting[i] = waiting.back();
                    waiting.pop_back();
                } else {
                    ++i;
                }
            }
            if (!waiting.empty()) {
                if (stop.load()) return interrupt();
                pump(tick);
                continue;
            }
            if (heap.empty()) return true;
            // Write the earliest packet, and take its sensor's next one
            // while it is there: one sift-down, as merge_pass does.
            detail::merge_key& top = heap.front();
            detail::fleet_source& s = *sources_[top.slot];
            const packet_view p = s.stream.packet();
            out.write(p, s.ifaces[p.interface]);
            ++s.info.packets;
            if (!s.info.first) s.info.first = p.ts;
            s.info.last = p.ts;
            if (try_next(s, true)) {
                top = key_of(s, top.slot);
            } else {
                s.in_heap = false;
                if (!s.exhausted) waiting.push_back(&s);
                heap.front() = heap.back();
                heap.pop_back();
                if (heap.empty()) continue;
            }
            detail::sift_down(heap, 0);
            if (++steps_ % 4096 == 0) {
                if (stop.load()) return interrupt();
                maybe_tick(tick);
            }
        }
    }

    /// Ends every sensor's ssh and says how each ended: waits (at most
    /// grace) for each ssh to exit after its stream ended, so its exit
    /// status and last words are known. Throws only std::bad_alloc.
    void finish(bool interrupted, std::chrono::milliseconds grace = std::chrono::seconds(5)) {
        const auto deadline = std::chrono::steady_clock::now() + grace;
        for (auto& sp : sources_) {
            detail::fleet_source& s = *sp;
            if (interrupted && !s.failed && s.info.state == "running") {
                s.child.signal(SIGTERM);
                s.info.state = "interrupted";
            }
            s.child.close_out();
            // Its last words, until it closes standard error or the time is up.
            while (s.child.err_fd() >= 0) {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                                   std::chrono::steady_clock::now());
                if (left.count() <= 0) break;
                pollfd p{s.child.err_fd(), POLLIN, 0};
                int r = ::poll(&p, 1, static_cast<int>(left.count()));
                if (r < 0 && errno != EINTR) break;
                if (r > 0) read_err(s);
            }
            std::optional<int> status;
            while (!(status = s.child.reap(false)) && std::chrono::steady_clock::now() < deadline)
                ::poll(nullptr, 0, 10);
            if (!status) {
                s.child.kill_and_reap();
                if (!s.failed && s.info.state == "sent") give_up(s, "ssh did not exit after its stream ended");
            }
            if (!s.err_text.empty()) add_line(s, s.err_text), s.err_text.clear();
            conclude(s, status);
        }
    }

    /// The sensors, in the order given.
    std::vector<const fleet_sensor*> sensors() const {
        std::vector<const fleet_sensor*> r;
        for (const auto& s : sources_) r.push_back(&s->info);
        return r;
    }

    /// Bytes received from every sensor so far.
    std::uint64_t received() const {
        std::uint64_t n = 0;
        for (const auto& s : sources_) n += s->info.received;
        return n;
    }

private:
    std::uint32_t slot_of(const detail::fleet_source& s) const { return static_cast<std::uint32_t>(s.info.index); }

    // The next whole packet of s, or the header when !packets: true when
    // there; false when more must be read, or s ended (exhausted then).
    bool try_next(detail::fleet_source& s, bool packets) {
        if (s.exhausted) return false;
        try {
            if (!packets) {
                if (s.stream.has_header()) return true;
                if (s.stream.read_header()) {
                    header_read(s);
                    return true;
                }
            } else {
                if (s.stream.next()) return true;
            }
        } catch (const format_error& e) {
            give_up(s, e.what());
            return false;
        }
        if (s.out_eof) end_of_stream(s);
        return false;
    }

    void header_read(detail::fleet_source& s) {
        s.info.nanoseconds = s.stream.nanoseconds();
        s.info.interfaces = s.stream.interfaces();
    }

    void end_of_stream(detail::fleet_source& s) {
        s.exhausted = true;
        try {
            s.stream.finish();
            s.info.state = "sent";  // all of it came; how ssh ended is known at finish()
        } catch (const format_error& e) {
            s.failed = true;
            s.info.state = "failed";
            s.info.reason = e.what();
        }
    }

    // Ends s now, for why: its ssh killed, its pipes closed, what it sent
    // before kept.
    void give_up(detail::fleet_source& s, const std::string& why) {
        if (!s.failed) s.info.reason = why;
        s.failed = true;
        s.info.state = "failed";
        s.exhausted = true;
        s.child.signal(SIGTERM);
        s.child.close_out();
    }

    bool interrupt() {
        for (auto& s : sources_)
            if (!s->exhausted) s->child.signal(SIGTERM);
        return false;
    }

    void maybe_tick(const std::function<void()>& tick) {
        const auto now = std::chrono::steady_clock::now();
        if (tick && now - last_tick_ >= std::chrono::milliseconds(250)) {
            last_tick_ = now;
            tick();
        }
    }

    // Waits (at most 250 ms) for bytes from any sensor with room for them
    // and for any standard error; reads them; gives up on a sensor awaited
    // in vain for the timeout.
    void pump(const std::function<void()>& tick) {
        std::vector<pollfd> fds;
        std::vector<std::pair<detail::fleet_source*, bool>> who;  // (source, is stdout)
        const auto now = std::chrono::steady_clock::now();
        for (auto& sp : sources_) {
            detail::fleet_source& s = *sp;
            if (!s.exhausted && !s.out_eof && s.child.out_fd() >= 0 && s.stream.space().second > 0) {
                // Awaited: in the merge, every sensor not holding a packet in
                // the heap; before it, those without their header.
                const bool awaited = !s.in_heap && (merging_ || !s.stream.has_header());
                if (awaited && settings_.timeout.count() > 0 && now - s.last_data > settings_.timeout) {
                    give_up(s, "no data for " + std::to_string(settings_.timeout.count() / 1000) +
                                   " s (the sensor timeout)");
                    continue;
                }
                fds.push_back(pollfd{s.child.out_fd(), POLLIN, 0});
                who.emplace_back(&s, true);
            }
            if (s.child.err_fd() >= 0) {
                fds.push_back(pollfd{s.child.err_fd(), POLLIN, 0});
                who.emplace_back(&s, false);
            }
        }
        maybe_tick(tick);
        if (fds.empty()) return;
        int r = ::poll(fds.data(), fds.size(), 250);
        if (r <= 0) return;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            detail::fleet_source& s = *who[i].first;
            if (who[i].second) read_out(s);
            else read_err(s);
        }
    }

    void read_out(detail::fleet_source& s) {
        if (s.child.out_fd() < 0) return;
        auto [where, room] = s.stream.space();
        if (room == 0) return;
        ssize_t n = ::read(s.child.out_fd(), where, room);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
            s.out_eof = true;
            s.child.close_out();
            return;
        }
        s.stream.added(static_cast<std::size_t>(n));
        s.info.received = s.stream.received();
        s.last_data = std::chrono::steady_clock::now();
    }

    void read_err(detail::fleet_source& s) {
        char buf[4096];
        ssize_t n = ::read(s.child.err_fd(), buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
            s.child.close_err();
            return;
        }
        s.err_text.append(buf, static_cast<std::size_t>(n));
        for (std::size_t nl; (nl = s.err_text.find('\n')) != std::string::npos;) {
            add_line(s, s.err_text.substr(0, nl));
            s.err_text.erase(0, nl + 1);
        }
        if (s.err_text.size() > 4096) s.err_text.erase(0, s.err_text.size() - 4096);
    }

    static void add_line(detail::fleet_source& s, std::string line) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.empty()) return;
        if (line.size() > 1024) line.resize(1024);
        s.info.said.push_back(std::move(line));
        if (s.info.said.size() > 8) s.info.said.erase(s.info.said.begin());
    }

    // The sensor's end, from what we saw and ssh's wait status.
    void conclude(detail::fleet_source& s, std::optional<int> status) {
        const std::string last = last_words(s.info.said);
        const std::string exit_text = status ? wait_status_text(*status) : std::string("not reaped");
        const bool clean = status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
        if (s.info.state == "interrupted") return;
        if (s.failed) {
            s.info.state = "failed";
            s.info.reason += "; ssh: " + exit_text + (last.empty() ? "" : ": " + last);
        } else if (clean) {
            s.info.state = "done";
        } else if (status && WIFEXITED(*status) && WEXITSTATUS(*status) == 1 && s.stream.has_header()) {
            // The remote pull ran to its end with problems (files skipped).
            s.info.state = "partial";
            s.info.reason = "the remote pull: " + exit_text + (last.empty() ? "" : ": " + last);
        } else {
            s.info.state = "failed";
            s.info.reason = "ssh: " + exit_text + (last.empty() ? "" : ": " + last);
        }
    }

    fleet_settings settings_;
    std::vector<std::unique_ptr<detail::fleet_source>> sources_;
    std::chrono::steady_clock::time_point last_tick_{};
    std::uint64_t steps_ = 0;
    bool merging_ = false;
};

}  // namespace capture
