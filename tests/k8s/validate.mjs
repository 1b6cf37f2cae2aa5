// Validates Kubernetes manifests against the Kubernetes API schema with the npm package
// kubernetes-models (each object validates itself). Usage: node validate.mjs FILE...
// Each FILE holds YAML documents; every one must be an object of a known kind that validates,
// with a name that is a DNS label. Prints one line per object; exit 1 at the first failure.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { ConfigMap } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";

const kinds = { "v1/ConfigMap": ConfigMap, "apps/v1/Deployment": Deployment, "batch/v1/Job": Job };
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
let objects = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length) throw new Error(`${file}: YAML: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (obj === null || Object.keys(obj).length === 0) continue;  // a document of comments only
    const Kind = kinds[`${obj.apiVersion}/${obj.kind}`];
    if (!Kind) throw new Error(`${file}: unexpected ${obj.apiVersion} ${obj.kind}`);
    new Kind(obj).validate();
    const name = obj.metadata.name;
    if (!dnsLabel.test(name)) throw new Error(`${file}: ${obj.kind} ${name}: not a DNS label`);
    console.log(`${file}: ${obj.kind} ${name}: valid`);
    objects++;
  }
}
if (objects === 0) throw new Error("no object to validate");
