// Test oracle: parse BR Codes with npm pix-utils (an implementation independent of ours).
// stdin: a JSON array of BR Code strings. stdout: a JSON array, one object per code, with
// pix-utils' parse result (or its error) and whether pix-utils' own CRC matches the code's.
"use strict";
const { parsePix, hasError } = require("pix-utils");
const { computeCRC } = require("pix-utils/dist/main/crc");

function parseOne(code) {
  const crcValid = code.length > 4 && computeCRC(code) === code.slice(-4).toUpperCase();
  const pix = parsePix(code);
  if (hasError(pix)) return { error: pix.message || "error", crcValid };
  return {
    error: null,
    crcValid,
    type: pix.type,
    pixKey: pix.pixKey ?? null,
    url: pix.url ?? null,
    transactionAmount: pix.transactionAmount ?? null,
    txid: pix.txid ?? null,
    infoAdicional: pix.infoAdicional ?? null,
    merchantName: pix.merchantName,
    merchantCity: pix.merchantCity,
    transactionCurrency: pix.transactionCurrency,
    countryCode: pix.countryCode,
    merchantCategoryCode: pix.merchantCategoryCode,
  };
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const codes = JSON.parse(input);
  process.stdout.write(JSON.stringify(codes.map(parseOne)));
});
