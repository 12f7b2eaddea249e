"""The chatgpt.com web protocol, shared by ``ChatGpt`` (anonymous) and ``OpenaiChat`` (your account).

Neither provider imports the other; both build on these modules:

- :mod:`.session`: one consistent browser profile, cookies, device id, the warm-up GET.
- :mod:`.sentinel`: chat requirements, proof of work, turnstile by the caller's token or solver, walls.
- :mod:`.pow`: the proof-of-work solver (fast; worker processes for hard proofs).
- :mod:`.flow`: the retried opening step and the stream loop, given the backend's paths.
- :mod:`.stream` and :mod:`.patch`: decoding both conversation stream encodings.
"""
