// The original face-api.js FaceExpressionNet, for checking our LiteRT rebuild against it.
// Usage: NODE_PATH=<folder with face-api.js installed> node training/faceapi_reference.js WEIGHTS_DIR
// stdin: JSON {"shape": [N, 112, 112, 3], "data": [...]} (RGB 0-255); stdout: JSON N×7 probabilities
// in the library's order (neutral, happy, sad, angry, fearful, disgusted, surprised).
const faceapi = require('face-api.js');

const tf = faceapi.tf;

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const batch = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  await tf.setBackend('cpu'); // pure JS: tfjs-node's native binary cannot be downloaded here
  await faceapi.nets.faceExpressionNet.loadFromDisk(process.argv[2]);
  const [n, h, w, c] = batch.shape;
  const all = tf.tensor4d(batch.data, [n, h, w, c], 'float32');
  const out = [];
  for (const img of tf.unstack(all)) {
    // A 112×112 tensor goes through the library's own NetInput: no padding, no resize.
    const probs = await faceapi.nets.faceExpressionNet.forward(img);
    out.push(Array.from(await probs.data()));
  }
  // Last line: tfjs prints a banner on stdout first.
  process.stdout.write('\n' + JSON.stringify({ backend: tf.getBackend(), version: require('face-api.js/package.json').version, probs: out }) + '\n');
}

main().catch((err) => { console.error(err); process.exit(1); });
