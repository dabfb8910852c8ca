// Saves a file the server streamed over the circuit (a DotNetStreamReference) with the browser's own download: the
// API's bearer token never reaches the page, so the page cannot link to the API directly.
export async function download(fileName, streamRef) {
  const buffer = await streamRef.arrayBuffer();
  const url = URL.createObjectURL(new Blob([buffer], { type: 'application/octet-stream' }));
  save(url, fileName);
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// The browser's own download of url, saved as fileName.
export function save(url, fileName) {
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
}
