#!/usr/bin/env node
// The compiled entry point; `npm ci` builds dist/ through the prepare script.
import { main } from "../dist/cli/main.js";

await main(process.argv);
