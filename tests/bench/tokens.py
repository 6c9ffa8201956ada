"""Mint one access token per benchmark user (HS256, the claims todo-api issues), one per line."""
import base64, hashlib, hmac, json, sys, time

secret, users = sys.argv[1].encode(), int(sys.argv[2])

def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
now = int(time.time())
for n in range(1, users + 1):
    sub = f"00000000-0000-7000-8000-{n:012x}"
    claims = b64(json.dumps({"sub": sub, "iat": now, "exp": now + 86400, "iss": "todoplatform"}).encode())
    sig = b64(hmac.new(secret, f"{header}.{claims}".encode(), hashlib.sha256).digest())
    print(f"{header}.{claims}.{sig}")
