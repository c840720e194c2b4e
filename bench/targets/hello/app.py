"""The hello app every target serves: GET /hello -> {"message": "hello"}.

`app` is served by uvicorn (target a); `handler` is the Lambda entry point (targets b and d).
"""

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "hello"}


handler = Mangum(app, lifespan="off")
