// Link-layer header types: the names libpcap gives them and the words
// capinfos uses, for people and for records.
//
// Values are LINKTYPE_ values, as capture files hold them (not the DLT_
// values of the platform's libpcap, which differ for a few old types).
// The table below covers every LINKTYPE_ value libpcap 1.10 names; its
// names are libpcap's pcap_datalink_val_to_name() for the matching DLT_
// (plus USER0..USER15, which libpcap leaves unnamed) and its descriptions
// are Wireshark 4.0's "File encapsulation" words where Wireshark has them,
// libpcap's description otherwise. Values newer than the table go to the
// installed libpcap. This header, unlike capture_reader.hpp, needs libpcap.
#pragma once

#include <pcap/pcap.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace capture {

namespace detail {

struct linktype_entry {
    std::uint32_t linktype;
    std::string_view name;
    std::string_view description;
};

// Sorted by value, for a binary search.
inline constexpr std::array linktype_table{
        linktype_entry{0, "NULL", "NULL/Loopback"},
        linktype_entry{1, "EN10MB", "Ethernet"},
        linktype_entry{2, "EN3MB", "Xerox 3MB Ethernet"},
        linktype_entry{3, "AX25", "Amateur Radio AX.25"},
        linktype_entry{6, "IEEE802", "Token Ring"},
        linktype_entry{7, "ARCNET", "ARCNET"},
        linktype_entry{8, "SLIP", "SLIP"},
        linktype_entry{9, "PPP", "PPP"},
        linktype_entry{10, "FDDI", "FDDI with bit-swapped MAC addresses"},
        linktype_entry{50, "PPP_SERIAL", "PPP"},
        linktype_entry{51, "PPP_ETHER", "PPP-over-Ethernet session"},
        linktype_entry{99, "SYMANTEC_FIREWALL", "Symantec Enterprise Firewall"},
        linktype_entry{100, "ATM_RFC1483", "RFC 1483 ATM"},
        linktype_entry{101, "RAW", "Raw IP"},
        linktype_entry{102, "SLIP_BSDOS", "BSD/OS SLIP"},
        linktype_entry{103, "PPP_BSDOS", "BSD/OS PPP"},
        linktype_entry{104, "C_HDLC", "Cisco HDLC"},
        linktype_entry{105, "IEEE802_11", "IEEE 802.11 Wireless LAN"},
        linktype_entry{106, "ATM_CLIP", "Linux ATM CLIP"},
        linktype_entry{107, "FRELAY", "Frame Relay"},
        linktype_entry{108, "LOOP", "OpenBSD loopback"},
        linktype_entry{109, "ENC", "OpenBSD enc(4) encapsulating interface"},
        linktype_entry{113, "LINUX_SLL", "Linux cooked-mode capture v1"},
        linktype_entry{114, "LTALK", "Localtalk"},
        linktype_entry{117, "PFLOG", "OpenBSD PF Firewall logs"},
        linktype_entry{119, "PRISM_HEADER", "IEEE 802.11 plus Prism II monitor mode radio header"},
        linktype_entry{122, "IP_OVER_FC", "RFC 2625 IP-over-Fibre Channel"},
        linktype_entry{123, "SUNATM", "ATM PDUs"},
        linktype_entry{127, "IEEE802_11_RADIO", "IEEE 802.11 plus radiotap radio header"},
        linktype_entry{129, "ARCNET_LINUX", "Linux ARCNET"},
        linktype_entry{130, "JUNIPER_MLPPP", "Juniper MLPPP"},
        linktype_entry{131, "JUNIPER_MLFR", "Juniper MLFR"},
        linktype_entry{132, "JUNIPER_ES", "Juniper Encryption Services PIC"},
        linktype_entry{133, "JUNIPER_GGSN", "Juniper GGSN"},
        linktype_entry{134, "JUNIPER_MFR", "Juniper FRF.16 Frame Relay"},
        linktype_entry{135, "JUNIPER_ATM2", "Juniper ATM2"},
        linktype_entry{136, "JUNIPER_SERVICES", "Juniper Services"},
        linktype_entry{137, "JUNIPER_ATM1", "Juniper ATM1"},
        linktype_entry{138, "APPLE_IP_OVER_IEEE1394", "Apple IP-over-IEEE 1394"},
        linktype_entry{139, "MTP2_WITH_PHDR", "MTP2 with pseudoheader"},
        linktype_entry{140, "MTP2", "SS7 MTP2"},
        linktype_entry{141, "MTP3", "SS7 MTP3"},
        linktype_entry{142, "SCCP", "SS7 SCCP"},
        linktype_entry{143, "DOCSIS", "Data Over Cable Service Interface Specification"},
        linktype_entry{144, "LINUX_IRDA", "Linux IrDA"},
        linktype_entry{147, "USER0", "USER 0"},
        linktype_entry{148, "USER1", "USER 1"},
        linktype_entry{149, "USER2", "USER 2"},
        linktype_entry{150, "USER3", "USER 3"},
        linktype_entry{151, "USER4", "USER 4"},
        linktype_entry{152, "USER5", "USER 5"},
        linktype_entry{153, "USER6", "USER 6"},
        linktype_entry{154, "USER7", "USER 7"},
        linktype_entry{155, "USER8", "USER 8"},
        linktype_entry{156, "USER9", "USER 9"},
        linktype_entry{157, "USER10", "USER 10"},
        linktype_entry{158, "USER11", "USER 11"},
        linktype_entry{159, "USER12", "USER 12"},
        linktype_entry{160, "USER13", "USER 13"},
        linktype_entry{161, "USER14", "USER 14"},
        linktype_entry{162, "USER15", "USER 15"},
        linktype_entry{163, "IEEE802_11_RADIO_AVS", "IEEE 802.11 plus AVS radio header"},
        linktype_entry{164, "JUNIPER_MONITOR", "Juniper Passive Monitor PIC"},
        linktype_entry{165, "BACNET_MS_TP", "BACnet MS/TP"},
        linktype_entry{166, "PPP_PPPD", "PPP for pppd, with direction flag"},
        linktype_entry{167, "JUNIPER_PPPOE", "Juniper PPPoE"},
        linktype_entry{168, "JUNIPER_PPPOE_ATM", "Juniper PPPoE/ATM"},
        linktype_entry{169, "GPRS_LLC", "GPRS LLC"},
        linktype_entry{170, "GPF_T", "ITU-T G.7041/Y.1303 Generic Framing Procedure Transparent mode"},
        linktype_entry{171, "GPF_F", "ITU-T G.7041/Y.1303 Generic Framing Procedure Frame-mapped mode"},
        linktype_entry{174, "JUNIPER_PIC_PEER", "Juniper PIC Peer"},
        linktype_entry{175, "ERF_ETH", "Ethernet with Endace ERF header"},
        linktype_entry{176, "ERF_POS", "Packet-over-SONET with Endace ERF header"},
        linktype_entry{177, "LINUX_LAPD", "Linux vISDN LAPD"},
        linktype_entry{178, "JUNIPER_ETHER", "Juniper Ethernet"},
        linktype_entry{179, "JUNIPER_PPP", "Juniper PPP"},
        linktype_entry{180, "JUNIPER_FRELAY", "Juniper Frame-Relay"},
        linktype_entry{181, "JUNIPER_CHDLC", "Juniper C-HDLC"},
        linktype_entry{182, "MFR", "FRF.16 Frame Relay"},
        linktype_entry{183, "JUNIPER_VP", "Juniper Voice PIC"},
        linktype_entry{184, "A429", "Arinc 429"},
        linktype_entry{185, "A653_ICM", "Arinc 653 Interpartition Communication"},
        linktype_entry{186, "USB_FREEBSD", "USB packets with FreeBSD header"},
        linktype_entry{187, "BLUETOOTH_HCI_H4", "Bluetooth H4"},
        linktype_entry{188, "IEEE802_16_MAC_CPS", "IEEE 802.16 MAC Common Part Sublayer"},
        linktype_entry{189, "USB_LINUX", "USB packets with Linux header"},
        linktype_entry{190, "CAN20B", "Controller Area Network 2.0B"},
        linktype_entry{191, "IEEE802_15_4_LINUX", "IEEE 802.15.4 with Linux padding"},
        linktype_entry{192, "PPI", "Per-Packet Information header"},
        linktype_entry{193, "IEEE802_16_MAC_CPS_RADIO", "IEEE 802.16 MAC Common Part Sublayer plus radiotap header"},
        linktype_entry{194, "JUNIPER_ISM", "Juniper Integrated Service Module"},
        linktype_entry{195, "IEEE802_15_4", "IEEE 802.15.4 Wireless PAN"},
        linktype_entry{196, "SITA", "SITA pseudo-header"},
        linktype_entry{197, "ERF", "Endace ERF header"},
        linktype_entry{198, "RAIF1", "Ethernet with u10 Networks pseudo-header"},
        linktype_entry{199, "IPMB_KONTRON", "Intelligent Platform Management Bus with Kontron pseudo-header"},
        linktype_entry{200, "JUNIPER_ST", "Juniper Secure Tunnel Information"},
        linktype_entry{201, "BLUETOOTH_HCI_H4_WITH_PHDR", "Bluetooth H4 with linux header"},
        linktype_entry{202, "AX25_KISS", "AX.25 with KISS header"},
        linktype_entry{209, "IPMB_LINUX", "IPMB with Linux/Pigeon Point pseudo-header"},
        linktype_entry{215, "IEEE802_15_4_NONASK_PHY", "IEEE 802.15.4 Wireless PAN non-ASK PHY"},
        linktype_entry{216, "LINUX_EVDEV", "Linux evdev events"},
        linktype_entry{219, "MPLS", "MPLS with label as link-layer header"},
        linktype_entry{220, "USB_LINUX_MMAPPED", "USB packets with Linux header and padding"},
        linktype_entry{221, "DECT", "DECT"},
        linktype_entry{222, "AOS", "AOS Space Data Link protocol"},
        linktype_entry{223, "WIHART", "Wireless HART"},
        linktype_entry{224, "FC_2", "Fibre Channel FC-2"},
        linktype_entry{225, "FC_2_WITH_FRAME_DELIMS", "Fibre Channel FC-2 With Frame Delimiter"},
        linktype_entry{226, "IPNET", "Solaris IPNET"},
        linktype_entry{227, "CAN_SOCKETCAN", "SocketCAN"},
        linktype_entry{228, "IPV4", "Raw IPv4"},
        linktype_entry{229, "IPV6", "Raw IPv6"},
        linktype_entry{230, "IEEE802_15_4_NOFCS", "IEEE 802.15.4 Wireless PAN with FCS not present"},
        linktype_entry{231, "DBUS", "D-Bus"},
        linktype_entry{232, "JUNIPER_VS", "Juniper Virtual Server"},
        linktype_entry{233, "JUNIPER_SRX_E2E", "Juniper SRX E2E"},
        linktype_entry{234, "JUNIPER_FIBRECHANNEL", "Juniper Fibre Channel"},
        linktype_entry{235, "DVB_CI", "DVB-CI (Common Interface)"},
        linktype_entry{236, "MUX27010", "MUX27010"},
        linktype_entry{237, "STANAG_5066_D_PDU", "STANAG 5066 Data Transfer Sublayer PDUs(D_PDU)"},
        linktype_entry{238, "JUNIPER_ATM_CEMIC", "Juniper ATM CEMIC"},
        linktype_entry{239, "NFLOG", "NFLOG"},
        linktype_entry{240, "NETANALYZER", "Hilscher netANALYZER"},
        linktype_entry{241, "NETANALYZER_TRANSPARENT", "Hilscher netANALYZER-Transparent"},
        linktype_entry{242, "IPOIB", "IP over IB"},
        linktype_entry{243, "MPEG_2_TS", "ISO/IEC 13818-1 MPEG2-TS"},
        linktype_entry{244, "NG40", "ng40 protocol tester Iub/Iur"},
        linktype_entry{245, "NFC_LLCP", "NFC LLCP"},
        linktype_entry{246, "PFSYNC", "Packet filter state syncing"},
        linktype_entry{247, "INFINIBAND", "InfiniBand"},
        linktype_entry{248, "SCTP", "SCTP"},
        linktype_entry{249, "USBPCAP", "USB packets with USBPcap header"},
        linktype_entry{250, "RTAC_SERIAL", "RTAC serial-line"},
        linktype_entry{251, "BLUETOOTH_LE_LL", "Bluetooth Low Energy Link Layer"},
        linktype_entry{253, "NETLINK", "Linux Netlink"},
        linktype_entry{254, "BLUETOOTH_LINUX_MONITOR", "Bluetooth Linux Monitor"},
        linktype_entry{255, "BLUETOOTH_BREDR_BB", "Bluetooth BR/EDR Baseband RF"},
        linktype_entry{256, "BLUETOOTH_LE_LL_WITH_PHDR", "Bluetooth Low Energy Link Layer RF"},
        linktype_entry{257, "PROFIBUS_DL", "PROFIBUS data link layer"},
        linktype_entry{258, "PKTAP", "Apple PKTAP"},
        linktype_entry{259, "EPON", "Ethernet Passive Optical Network"},
        linktype_entry{260, "IPMI_HPM_2", "IPMI Trace Data Collection"},
        linktype_entry{261, "ZWAVE_R1_R2", "Z-Wave RF profile R1 and R2 packets"},
        linktype_entry{262, "ZWAVE_R3", "Z-Wave RF profile R3 packets"},
        linktype_entry{263, "WATTSTOPPER_DLM", "WattStopper Digital Lighting Management (DLM) and Legrand Nitoo Open protocol"},
        linktype_entry{264, "ISO_14443", "ISO 14443 contactless smartcard standards"},
        linktype_entry{265, "RDS", "IEC 62106 Radio Data System groups"},
        linktype_entry{266, "USB_DARWIN", "USB packets with Darwin (macOS, etc.) headers"},
        linktype_entry{267, "OPENFLOW", "OpenBSD DLT_OPENFLOW"},
        linktype_entry{268, "SDLC", "SDLC"},
        linktype_entry{269, "TI_LLN_SNIFFER", "TI LLN sniffer frames"},
        linktype_entry{271, "VSOCK", "Linux vsock"},
        linktype_entry{272, "NORDIC_BLE", "nRF Sniffer for Bluetooth LE"},
        linktype_entry{273, "DOCSIS31_XRA31", "DOCSIS with Excentis XRA pseudo-header"},
        linktype_entry{274, "ETHERNET_MPACKET", "IEEE 802.3br mPackets"},
        linktype_entry{275, "DISPLAYPORT_AUX", "DisplayPort AUX channel with Unigraf pseudo-header"},
        linktype_entry{276, "LINUX_SLL2", "Linux cooked-mode capture v2"},
        linktype_entry{278, "OPENVIZSLA", "OpenVizsla USB"},
        linktype_entry{279, "EBHSCR", "Elektrobit High Speed Capture and Replay"},
        linktype_entry{280, "VPP_DISPATCH", "Vector Packet Processing graph dispatch trace"},
        linktype_entry{281, "DSA_TAG_BRCM", "Broadcom tag"},
        linktype_entry{282, "DSA_TAG_BRCM_PREPEND", "Broadcom tag (prepended)"},
        linktype_entry{283, "IEEE802_15_4_TAP", "IEEE 802.15.4 Wireless with TAP pseudo-header"},
        linktype_entry{284, "DSA_TAG_DSA", "Marvell DSA"},
        linktype_entry{285, "DSA_TAG_EDSA", "Marvell EDSA"},
        linktype_entry{286, "ELEE", "ELEE lawful intercept packets"},
        linktype_entry{287, "Z_WAVE_SERIAL", "Z-Wave Serial API packets"},
        linktype_entry{288, "USB_2_0", "USB 2.0/1.1/1.0 packets"},
        linktype_entry{289, "ATSC_ALP", "ATSC Link-Layer Protocol packets"},
};

inline const linktype_entry* find_linktype(std::uint32_t linktype) {
    std::size_t lo = 0, hi = linktype_table.size();
    while (lo < hi) {
        std::size_t mid = (lo + hi) / 2;
        if (linktype_table[mid].linktype < linktype) lo = mid + 1;
        else hi = mid;
    }
    return lo < linktype_table.size() && linktype_table[lo].linktype == linktype ? &linktype_table[lo] : nullptr;
}

// libpcap's linktype_to_dlt() (pcap-common.c), which it does not export:
// the few LINKTYPE_ values that differ from the platform's DLT_ values.
inline int linktype_to_dlt(std::uint32_t linktype) {
    switch (linktype) {
        case 50: return DLT_PPP_SERIAL;
        case 51: return DLT_PPP_ETHER;
        case 100: return DLT_ATM_RFC1483;
        case 101: return DLT_RAW;
        case 102: return DLT_SLIP_BSDOS;
        case 103: return DLT_PPP_BSDOS;
        case 106: return DLT_ATM_CLIP;
        case 246: return DLT_PFSYNC;
        case 258: return DLT_PKTAP;
        default: return linktype > 0x7fffffff ? -1 : static_cast<int>(linktype);
    }
}

}  // namespace detail

/// libpcap's short name for a link type ("EN10MB", "LINUX_SLL",
/// "IEEE802_11_RADIO"...), or "" when neither the table nor libpcap knows
/// it. Throws nothing.
inline std::string_view linktype_name(std::uint32_t linktype) {
    if (const auto* e = detail::find_linktype(linktype)) return e->name;
    const char* name = pcap_datalink_val_to_name(detail::linktype_to_dlt(linktype));
    return name ? std::string_view(name) : std::string_view();
}

/// What a link type is, in capinfos's words ("Ethernet", "Linux cooked-mode
/// capture v1", "Raw IPv4"...), libpcap's where capinfos has none, or ""
/// when unknown. Throws nothing.
inline std::string_view linktype_description(std::uint32_t linktype) {
    if (const auto* e = detail::find_linktype(linktype)) return e->description;
    const char* text = pcap_datalink_val_to_description(detail::linktype_to_dlt(linktype));
    return text ? std::string_view(text) : std::string_view();
}

/// The link type as tcpdump prints it: "EN10MB (Ethernet)", or the number
/// when it has no name. Throws std::bad_alloc only.
inline std::string linktype_label(std::uint32_t linktype) {
    std::string_view name = linktype_name(linktype);
    if (name.empty()) return std::to_string(linktype);
    std::string_view description = linktype_description(linktype);
    std::string out(name);
    if (!description.empty()) out.append(" (").append(description).append(")");
    return out;
}

}  // namespace capture
