"""`trunkline smsc-simulator`: an SMPP 3.4 server (SMSC side) for local use and the tests, on a different SMPP codec (smpp.pdu3) from the client, so a codec bug cannot cancel itself out.

    trunkline smsc-simulator --host 127.0.0.1 --port 2775 --control-port 2776 \\
        --system-id trunkline --password secret --receipt-delay 0.5 \\
        [--decimal-receipt-ids] [--receipt-before-response] [--throttle-per-second N]

Port 0 picks a free port; the ports it got are printed on start (stderr):
`SMSC simulator: SMPP on 127.0.0.1:2775 (system_id trunkline), control API on http://127.0.0.1:2776 ...`

SMPP: bind_transmitter / bind_receiver / bind_transceiver (a wrong system_id gets
ESME_RINVSYSID, a wrong password ESME_RINVPASWD, then the connection is closed), unbind,
enquire_link, submit_sm (answered in the order received, message ids in hex), deliver_sm_resp.
A bad command_length or unknown command_id gets generic_nack (a bad length also closes the
connection: the stream cannot be followed); a bind or submit_sm whose body does not decode gets
its own response with the error; other operations (query_sm, data_sm...) get generic_nack
ESME_RINVCMDID. A receipt (esm_class 0x04, the standard text, TLVs receipted_message_id and
message_state) goes to the submitting bind when it can receive, else to another receiver bind,
else waits for the next one; so do MO messages.

Control API, HTTP/JSON on --control-port (request and response schemas at /docs):

GET  /submits?since=0&limit=100  accepted submits from index `since`: {"submits": [...], "next": N};
     each has index, message_id, bind, received_at, sequence_number, service_type, source_addr,
     source_addr_ton, source_addr_npi, destination_addr, dest_addr_ton, dest_addr_npi, esm_class,
     priority_flag, registered_delivery, data_coding, schedule_delivery_time and validity_period
     (SMPP time text, or null), protocol_id, short_message (hex),
     message_payload (hex or null), text (decoded, UDH left out; null for binary) and options
     (the other TLVs by name)
POST /mo          {"source_addr": "447700900123", "destination_addr": "12345", "text": "Hi",
                   "source_addr_ton": 1, "source_addr_npi": 1, "dest_addr_ton": 1, "dest_addr_npi": 1}
     -> {"parts": 1, "data_coding": 0, "delivered": true}: GSM 03.38 (unpacked septets) when the
     text fits it, else UCS-2; longer texts in parts with a UDH (8-bit reference), esm_class 0x40
GET  /behaviour   the settings below
POST /behaviour   any of {"receipt_delay": 0.5, "decimal_receipt_ids": false,
                   "receipt_before_response": false, "throttle_per_second": 0,
                   "receipt_rules": [{"prefix": "4479", "stat": "UNDELIV", "err": 1}],
                   "reject_rules": [{"prefix": "999", "status": "ESME_RINVDSTADR"}]}
     the fields given change, the others stay. A receipt rule sets the stat (DELIVRD, UNDELIV,
     EXPIRED, REJECTD, DELETED, UNKNOWN, ACCEPTD, ENROUTE) and err of destinations with that
     prefix (longest prefix wins; DELIVRD err 000 otherwise); a reject rule refuses their submits
     with that status (name or number, ESME_RINVDSTADR by default). decimal_receipt_ids: the
     receipt's id (text and receipted_message_id) is the submit_sm_resp's hex id in decimal.
POST /fail-next   {"status": "throttled" | "queue_full", "count": 3}: the next 3 submits get
                   ESME_RTHROTTLED (0x58) or ESME_RMSGQFUL (0x14)
POST /disconnect  no body or {}: drops every connection now -> {"dropped": 2};
                   {"after_submits": 2}: the next 2 submits go unanswered, then every connection drops
GET  /stats       {"binds": [{"bind", "mode", "system_id", "peer", "since"}], "connections",
                   "submits", "pending_deliveries", "armed": {...}, "counters": {"submit_sm",
                   "accepted", "throttled", "queue_full", "rejected", "unanswered", "receipts",
                   "mo", "deliver_sm", "deliver_sm_resp", "deliver_sm_resp_errors", "binds",
                   "bind_failures", "unbinds", "enquire_link", "undecodable", "dropped"}}
POST /reset       back to the start settings: faults disarmed, counters zeroed, receipts and MO
                   not yet sent forgotten; the submits are kept (indices stay valid)
"""
