"""
Mass Effect 3 game knowledge, as pure functions and declarations without
I/O: the declared Blaze messages (L{pocketrelay.me3.messages}), config
maps and chunking, player data, Galaxy at War arithmetic, matchmaking
rules and the protocol version hash.
"""
