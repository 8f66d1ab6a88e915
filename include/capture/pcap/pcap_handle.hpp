// Owners of libpcap's handles and the few calls around them: opening a
// live device, compiling an expression for its link type, finding the
// default interface.
//
// Every handle has one move-only owner (STYLE.md 5): unique_ptr with a
// functor deleter for pcap_t and pcap_if_t, and a small class for
// bpf_program, which libpcap hands out by value.
#pragma once

#include "capture/sys/error.hpp"

#include <pcap/pcap.h>

#include <memory>
#include <string>
#include <utility>

namespace capture {

/// Closes a pcap_t.
struct pcap_closer {
    void operator()(pcap_t* p) const noexcept {
        if (p) ::pcap_close(p);
    }
};
/// Owns a pcap_t.
using unique_pcap = std::unique_ptr<pcap_t, pcap_closer>;

/// Frees a device list.
struct pcap_if_freer {
    void operator()(pcap_if_t* p) const noexcept {
        if (p) ::pcap_freealldevs(p);
    }
};
/// Owns the list pcap_findalldevs returns.
using unique_device_list = std::unique_ptr<pcap_if_t, pcap_if_freer>;

/// Owns a compiled BPF program.
class compiled_filter {
public:
    compiled_filter() = default;
    /// Takes a program pcap_compile filled in.
    explicit compiled_filter(const bpf_program& p) noexcept : program_(p), owned_(true) {}
    compiled_filter(compiled_filter&& other) noexcept
        : program_(other.program_), owned_(std::exchange(other.owned_, false)) {}
    compiled_filter& operator=(compiled_filter&& other) noexcept {
        if (this != &other) {
            reset();
            program_ = other.program_;
            owned_ = std::exchange(other.owned_, false);
        }
        return *this;
    }
    compiled_filter(const compiled_filter&) = delete;
    compiled_filter& operator=(const compiled_filter&) = delete;
    ~compiled_filter() { reset(); }

    /// The program, for pcap_setfilter.
    bpf_program* get() noexcept { return owned_ ? &program_ : nullptr; }

private:
    void reset() noexcept {
        if (owned_) ::pcap_freecode(&program_);
        owned_ = false;
    }
    bpf_program program_{};
    bool owned_ = false;
};

/// Why a device could not be opened; the kind decides the exit code and
/// the advice given.
class device_error : public error {
public:
    /// What went wrong.
    enum class kind { no_such_device, permission, other };
    device_error(kind k, const std::string& message) : error(message), kind_(k) {}
    /// What went wrong.
    kind what_kind() const noexcept { return kind_; }

private:
    kind kind_;
};

/// Settings of a live handle.
struct live_settings {
    std::string interface;             ///< the device to open
    int snaplen = 262144;              ///< tcpdump's "whole packet"
    int buffer_bytes = 32 << 20;       ///< the kernel ring: large, so bursts are not dropped
    int timeout_ms = 100;              ///< how long the kernel holds a partly filled block
    bool promiscuous = true;           ///< as tcpdump, unless told otherwise
};

/// Opens and activates a live capture on s.interface. Throws
/// device_error with libpcap's words, and advice for the usual cases.
inline unique_pcap open_live(const live_settings& s) {
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    unique_pcap p(::pcap_create(s.interface.c_str(), errbuf));
    if (!p) throw device_error(device_error::kind::other, s.interface + ": " + errbuf);
    ::pcap_set_snaplen(p.get(), s.snaplen);
    ::pcap_set_promisc(p.get(), s.promiscuous ? 1 : 0);
    ::pcap_set_timeout(p.get(), s.timeout_ms);
    ::pcap_set_buffer_size(p.get(), s.buffer_bytes);
    int rc = ::pcap_activate(p.get());
    if (rc >= 0) return p;  // warnings (promiscuous mode not supported ...) are not failures
    std::string words = ::pcap_geterr(p.get());
    if (words.empty()) words = ::pcap_statustostr(rc);
    switch (rc) {
        case PCAP_ERROR_NO_SUCH_DEVICE:
            throw device_error(device_error::kind::no_such_device,
                               s.interface + ": no such interface (" + words + ")");
        case PCAP_ERROR_PERM_DENIED:
            throw device_error(device_error::kind::permission,
                               s.interface + ": not permitted to capture (" + words +
                                   "): run it with sudo, or give it CAP_NET_RAW and CAP_NET_ADMIN");
        case PCAP_ERROR_IFACE_NOT_UP:
            throw device_error(device_error::kind::other, s.interface + ": interface is down (" + words + ")");
        default:
            throw device_error(device_error::kind::other, s.interface + ": " + words);
    }
}

/// Compiles expression for p's link type (optimised, with the device's
/// netmask when it has one). Throws usage_error with libpcap's own words.
inline compiled_filter compile_filter(pcap_t* p, const std::string& expression, const std::string& interface = {}) {
    bpf_u_int32 net = 0, mask = PCAP_NETMASK_UNKNOWN;
    char errbuf[PCAP_ERRBUF_SIZE];
    if (!interface.empty() && ::pcap_lookupnet(interface.c_str(), &net, &mask, errbuf) != 0)
        mask = PCAP_NETMASK_UNKNOWN;
    bpf_program program{};
    if (::pcap_compile(p, &program, expression.c_str(), 1, mask) != 0)
        throw usage_error("bad expression '" + expression + "': " + ::pcap_geterr(p));
    return compiled_filter(program);
}

/// Compiles expression and installs it on p. Throws usage_error for a bad
/// expression, error when the kernel refuses the program.
inline void apply_filter(pcap_t* p, const std::string& expression, const std::string& interface = {}) {
    compiled_filter program = compile_filter(p, expression, interface);
    if (::pcap_setfilter(p, program.get()) != 0)
        throw error("cannot install the filter '" + expression + "': " + ::pcap_geterr(p));
}

/// The interface cap-start uses when none is named: the first one libpcap
/// lists that is up and running and is not loopback, not "any", and not a
/// pseudo-device (usbmon, nflog, bluetooth, dbus). Throws error when none.
inline std::string default_interface() {
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_if_t* raw = nullptr;
    if (::pcap_findalldevs(&raw, errbuf) != 0) throw error(std::string("cannot list interfaces: ") + errbuf);
    unique_device_list devices(raw);
    auto pseudo = [](const std::string& name) {
        for (const char* prefix : {"any", "usbmon", "nflog", "nfqueue", "bluetooth", "dbus"})
            if (name.rfind(prefix, 0) == 0) return true;
        return false;
    };
    for (pcap_if_t* d = devices.get(); d; d = d->next) {
        bpf_u_int32 flags = d->flags;
        if ((flags & PCAP_IF_LOOPBACK) || !(flags & PCAP_IF_UP) || !(flags & PCAP_IF_RUNNING)) continue;
        if (pseudo(d->name)) continue;
        return d->name;
    }
    throw error("no interface is up: name one with -i");
}

}  // namespace capture
