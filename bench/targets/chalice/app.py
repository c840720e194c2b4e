"""Chalice equivalent of bench/targets/hello/app.py (target c, `chalice local`)."""

from chalice import Chalice

app = Chalice(app_name="hello")


@app.route("/hello")
def hello() -> dict[str, str]:
    return {"message": "hello"}
