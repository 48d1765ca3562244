// Minimal Probot 14 receiver: signature check, JSON parse, dispatch to a handler.
import http from "node:http";
import { Probot, createNodeMiddleware } from "probot";

const probot = new Probot({
  appId: 1,
  privateKey: process.env.BENCH_PRIVATE_KEY,
  secret: process.env.BENCH_SECRET,
  logLevel: "warn",
});
let handled = 0;
const app = (bot) => {
  bot.on("pull_request.opened", async () => {
    handled += 1;
  });
};
const middleware = await createNodeMiddleware(app, { probot });
http
  .createServer(async (req, res) => {
    if (!(await middleware(req, res))) {
      res.writeHead(404).end();
    }
  })
  .listen(Number(process.env.PORT), "127.0.0.1");
