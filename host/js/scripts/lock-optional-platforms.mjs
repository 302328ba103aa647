// After `npm install` against a registry mirror that lacks some platform
// binaries of jco's dependencies (rolldown, componentize-qjs, jco-node-fs
// bindings for other OSes), npm leaves them out of package-lock.json and
// `npm ci` then refuses the lock ("Missing: … from lock file"). This records
// each missing optional platform package the way a full registry would: the
// version its parent asks for, with os/cpu/libc read from its name, so npm
// skips it on every other platform without fetching it.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;

const OS = ["android", "darwin", "freebsd", "linux", "openharmony", "win32"];
const CPU = { "arm-": "arm", arm64: "arm64", x64: "x64", ppc64: "ppc64", s390x: "s390x", wasm32: "wasm32" };

function platform(name) {
  const parts = name.split("/").pop().split("-");
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.includes("arm64") ? "arm64" : Object.entries(CPU).find(([k]) => parts.includes(k.replace("-", "")))?.[1];
  const libc = parts.includes("musl") ? "musl" : parts.includes("gnu") || parts.includes("gnueabihf") ? "glibc" : undefined;
  if (!cpu) throw new Error(`cannot tell the platform of ${name}`);
  return { cpu: [cpu], ...(libc && { libc: [libc] }), ...(os && { os: [os] }) };
}

let added = 0;
for (const [key, pkg] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    // Resolved as npm does: beside the parent, then up the node_modules chain.
    let dir = key;
    let found = false;
    for (;;) {
      if (packages[`${dir ? `${dir}/` : ""}node_modules/${dep}`]) { found = true; break; }
      if (!dir) break;
      const i = dir.lastIndexOf("/node_modules/");
      dir = i < 0 ? "" : dir.slice(0, i);
    }
    if (found) continue;
    if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`${dep}@${version}: not an exact version`);
    packages[`node_modules/${dep}`] = { version, ...platform(dep), dev: pkg.dev, optional: true };
    console.log(`lock: added ${dep}@${version} ${JSON.stringify(platform(dep))}`);
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => a.localeCompare(b, "en")));
writeFileSync(path, JSON.stringify(lock, null, 2) + "\n");
console.log(`lock: ${added} optional platform packages recorded`);
