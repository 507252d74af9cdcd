"""Identity: who is calling, proven by a credential, and what each kind may call.

principal   the three kinds of principal and the value handed to handlers
credentials the credential formats: client API keys, contractor tokens, operator secret
store       the kernel's credential tables (key hashes, token revocations) in every database
authenticator  credential -> principal, on the request path, with no call to another service
replica     the consumer routes that copy other services' key hashes and revocations
"""
