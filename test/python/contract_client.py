#!/usr/bin/env python3
"""An independent Nexy client in another language, for wire-compatibility checks.

It compiles proto/streaming.proto itself with protoc (Debian's protobuf-compiler), talks to the
server with grpcio (Debian's python3-grpcio) through generic method handlers, and prints one JSON
object describing what it saw. The Node test (test/e2e/python-client.test.ts) asserts on it.

usage: contract_client.py PROTO_FILE HOST:PORT
"""
import importlib
import json
import os
import subprocess
import sys
import tempfile

import grpc


def compile_proto(proto_file):
    out = tempfile.mkdtemp(prefix="nexy-py-")
    subprocess.run(
        ["protoc", f"--proto_path={os.path.dirname(proto_file)}", f"--python_out={out}", proto_file],
        check=True,
    )
    sys.path.insert(0, out)
    return importlib.import_module("streaming_pb2")


def main():
    proto_file, address = sys.argv[1], sys.argv[2]
    pb = compile_proto(proto_file)
    channel = grpc.insecure_channel(address)
    service = "/streaming.StreamingService/"
    stream_audio = channel.unary_stream(
        service + "StreamAudio",
        request_serializer=pb.StreamRequest.SerializeToString,
        response_deserializer=pb.StreamResponse.FromString,
    )
    interrupt = channel.unary_unary(
        service + "InterruptSession",
        request_serializer=pb.InterruptRequest.SerializeToString,
        response_deserializer=pb.InterruptResponse.FromString,
    )
    welcome = channel.unary_stream(
        service + "GenerateWelcomeAudio",
        request_serializer=pb.WelcomeRequest.SerializeToString,
        response_deserializer=pb.WelcomeResponse.FromString,
    )
    hardware_id = "7D1C7F0E-2A43-4C8B-9E51-0F6A2B3C4D5E"
    report = {}

    def run_stream(call):
        kinds, audio = [], []
        try:
            for message in call:
                kind = message.WhichOneof("content")
                kinds.append(kind)
                if kind == "audio_chunk":
                    chunk = message.audio_chunk
                    audio.append({
                        "bytes": len(chunk.audio_data),
                        "dtype": chunk.dtype,
                        "shape": list(chunk.shape),
                        "sample_rate": chunk.sample_rate,
                        "channels": chunk.channels,
                        "silent": not any(chunk.audio_data),
                    })
                elif kind in ("end_message", "error_message", "text_chunk"):
                    kinds[-1] = [kind, getattr(message, kind)]
            code = call.code().name
        except grpc.RpcError as error:
            code = error.code().name
        metadata = dict(call.initial_metadata() or [])
        return {"kinds": kinds, "audio": audio, "code": code, "session_header": metadata.get("x-session-id")}

    # COLLECT then COMMIT, the way the deployed client sends them.
    session = "3b2f6c1e-9d4a-4f7b-8c2d-1a2b3c4d5e6f"
    report["collect"] = run_stream(stream_audio(pb.StreamRequest(
        hardware_id=hardware_id, session_id=session, phase=pb.REQUEST_PHASE_COLLECT, chunk_seq=1, chunk_text="what time")))
    report["commit"] = run_stream(stream_audio(pb.StreamRequest(
        hardware_id=hardware_id, session_id=session, phase=pb.REQUEST_PHASE_COMMIT, prompt="is it")))
    # An old client: no phase at all.
    report["legacy"] = run_stream(stream_audio(pb.StreamRequest(hardware_id=hardware_id, prompt="hello")))
    report["invalid"] = run_stream(stream_audio(pb.StreamRequest(hardware_id="unknown", session_id="s-1", prompt="hi")))
    reply = interrupt(pb.InterruptRequest(hardware_id=hardware_id))
    report["interrupt"] = {"success": reply.success, "sessions": list(reply.interrupted_sessions)}
    kinds = []
    for message in welcome(pb.WelcomeRequest(text="")):
        kind = message.WhichOneof("content")
        if kind == "metadata":
            meta = message.metadata
            kinds.append(["metadata", {"method": meta.method, "duration_sec": meta.duration_sec,
                                       "sample_rate": meta.sample_rate, "channels": meta.channels, "dtype": meta.dtype}])
        else:
            kinds.append(kind)
    report["welcome"] = kinds
    print(json.dumps(report))


if __name__ == "__main__":
    main()
