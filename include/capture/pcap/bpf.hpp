// BPF filtering of packets we read ourselves: libpcap's compiler, our bytes.
//
// An expression is compiled once per link type with pcap_open_dead and
// pcap_compile (optimised, netmask unknown, as tcpdump -r does), and then
// run with bpf_filter() straight on a packet_view's bytes inside the
// reader's mapping: no copy, no allocation, no pcap_t per file. A compiled
// program is immutable and bpf_filter() is a pure function of it and the
// packet, so one program serves every worker thread at once.
//
// Capture files hold LINKTYPE_ values; pcap_open_dead wants the DLT_ value
// of this platform, which differs for a handful of old types (libpcap's
// own linktype_to_dlt() is internal), so those are mapped here.
#pragma once

#include "capture/pcap/capture_reader.hpp"
#include "capture/sys/error.hpp"
#include "capture/pcap/pcap_handle.hpp"

#include <pcap/bpf.h>
#include <pcap/pcap.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace capture {

/// A BPF expression libpcap refuses: its own words ("can't parse filter
/// expression: syntax error"). A usage error: nothing is done.
class expression_error : public usage_error {
public:
    using usage_error::usage_error;
};

/// The DLT_ value libpcap uses on this platform for a LINKTYPE_ value.
/// Throws nothing.
inline int dlt_for_linktype(std::uint32_t linktype) noexcept {
    switch (linktype) {
        case 100: return DLT_ATM_RFC1483;
        case 101: return DLT_RAW;
        case 102: return DLT_SLIP_BSDOS;
        case 103: return DLT_PPP_BSDOS;
#ifdef DLT_ATM_CLIP
        case 106: return DLT_ATM_CLIP;
#endif
#ifdef DLT_PFSYNC
        case 246: return DLT_PFSYNC;
#endif
        default: return static_cast<int>(linktype);
    }
}

/// The expression --vlan asks for: the packets it matches untagged, and
/// the same packets inside one 802.1Q/802.1ad tag ("EXPR or (vlan and
/// EXPR)"). An empty expression (every packet) stays empty. Throws only
/// std::bad_alloc.
inline std::string vlan_expression(const std::string& expression) {
    if (expression.find_first_not_of(" \t\n") == std::string::npos) return expression;
    return "(" + expression + ") or (vlan and (" + expression + "))";
}

/// One expression compiled for one link type.
class bpf_matcher {
public:
    /// Compiles expression for linktype (a LINKTYPE_ value) and snaplen, as
    /// tcpdump -r would. Throws expression_error with libpcap's own words.
    bpf_matcher(const std::string& expression, std::uint32_t linktype, std::uint32_t snaplen = 262144)
        : linktype_(linktype) {
        // An empty expression takes every packet whatever the link type, so
        // it is compiled for Ethernet: libpcap refuses to compile anything,
        // even nothing, for a link type it does not know, and tcpdump -r
        // reads such a file when given no expression.
        const bool everything = expression.find_first_not_of(" \t\n") == std::string::npos;
        const int dlt = everything ? DLT_EN10MB : dlt_for_linktype(linktype);
        // A file's snapshot length may be anything; libpcap takes an int.
        const bool usable = snaplen != 0 && snaplen <= 0x7fffffffu;
        unique_pcap dead(::pcap_open_dead(dlt, static_cast<int>(usable ? snaplen : 262144)));
        if (!dead) throw error("pcap_open_dead failed for link type " + std::to_string(linktype));
        bpf_program program{};
        // Older libpcaps' compilers keep global state: one compile at a time.
        static std::mutex compiling;
        std::lock_guard<std::mutex> lock(compiling);
        if (::pcap_compile(dead.get(), &program, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
            throw expression_error(::pcap_geterr(dead.get()));
        program_ = std::make_unique<compiled_filter>(program);
        insns_ = program_->get()->bf_insns;
    }

    /// True when the program accepts the packet (its caplen bytes, on a
    /// wire of origlen). Throws nothing.
    bool matches(const packet_view& p) const noexcept {
        return ::bpf_filter(insns_, p.data, p.origlen, p.caplen) != 0;
    }

    /// The link type compiled for. Throws nothing.
    std::uint32_t linktype() const noexcept { return linktype_; }

private:
    std::unique_ptr<compiled_filter> program_;  // stable address: insns_ points into it
    const bpf_insn* insns_ = nullptr;
    std::uint32_t linktype_ = 0;
};

}  // namespace capture
