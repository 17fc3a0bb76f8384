// The browser client: the tutorial's login and call pages on today's WebRTC
// APIs. It talks to the server that served it, over the protocol of
// docs/protocol.md, and fixes the tutorial client's defects: a new peer
// connection for every call, remote candidates queued until the remote
// description is set, errors shown, receive-only without a camera, and a
// reconnect when the server goes away.
'use strict';

const $ = (id) => document.getElementById(id);
const ui = {
  loginForm: $('loginForm'), usernameInput: $('usernameInput'), loginError: $('loginError'),
  callForm: $('callForm'), callToUsernameInput: $('callToUsernameInput'), callBtn: $('callBtn'),
  hangUpBtn: $('hangUpBtn'), localVideo: $('localVideo'), remoteVideo: $('remoteVideo'),
  status: $('status'), error: $('error'), mediaNote: $('mediaNote'), users: $('users'),
  incoming: $('incoming'), incomingCaller: $('incomingCaller'), acceptBtn: $('acceptBtn'),
  declineBtn: $('declineBtn'), connection: $('connection'),
};

// --- state

let socket = null;
let reconnectDelay = 500;    // ms, doubles to 8 s while the server is away
let myName = null;           // once logged in
let wantedName = null;       // a login under way
let iceServers = [];         // from the server's login reply
let resumeToken = null;      // from the login reply: takes our name back after a reconnect
let localStream = null;      // null: receive only
let mediaReady = null;       // settles once the camera and microphone are ours, or refused
let pc = null;               // the current call's RTCPeerConnection
let peer = null;             // who we call, or who calls us
let incomingOffer = null;    // an offer waiting for accept or decline
let remoteCandidates = [];   // until the remote description is set
let localCandidates = [];    // until our offer or answer is sent
let descriptionSent = false;
const online = new Set();

function setState(state, text) {
  document.body.dataset.state = state;
  ui.status.textContent = text || {
    login: '', idle: `Signed in as ${myName}`, calling: `Calling ${peer}…`,
    ringing: `${peer} is calling`, 'in-call': `In a call with ${peer}`,
  }[state];
  ui.hangUpBtn.disabled = !(state === 'calling' || state === 'in-call');
  ui.callBtn.disabled = state !== 'idle';
}

function showError(text) {
  ui.error.textContent = text || '';
}

function setConnection(state) {
  document.body.dataset.connection = state;
  ui.connection.textContent = state;
}

// --- the server

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN)
    socket.send(JSON.stringify(message));
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  socket = new WebSocket(`${scheme}//${location.host}/`);
  socket.onopen = () => {
    setConnection('connected');
    reconnectDelay = 500;
    login();
  };
  socket.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return; // the tutorial's server greets with "Hello world"
    }
    if (message && typeof message === 'object' && !Array.isArray(message))
      handle(message);
  };
  socket.onclose = () => {
    const wasConnected = document.body.dataset.connection === 'connected';
    setConnection('reconnecting');
    if (wasConnected && (myName || wantedName))
      showError('Lost the server; reconnecting…');
    online.clear();
    renderUsers();
    setTimeout(connect, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 8000);
  };
}

// Logs in, or in again after a reconnect: the resume token takes our name
// back from a connection the server has not yet noticed is dead.
function login() {
  const name = myName || wantedName;
  if (!name)
    return;
  const message = { type: 'login', name };
  if (myName && resumeToken)
    message.resume = resumeToken;
  send(message);
}

function handle(message) {
  switch (message.type) {
    case 'login': return onLogin(message);
    case 'presence': return onPresence(message);
    case 'offer': return onOffer(message);
    case 'answer': return onAnswer(message);
    case 'candidate': return onCandidate(message);
    case 'leave': return onLeave(message);
    case 'error': return onError(message);
    case 'ice-servers': // fresh TURN credentials for the calls to come
      if (Array.isArray(message.iceServers))
        iceServers = message.iceServers;
      return;
    default: return; // a newer server's message
  }
}

function onLogin(message) {
  if (!message.success) {
    const text = message.message || 'That name is taken: choose another.';
    if (myName) {
      // Logging in again after a reconnect: our old connection may linger.
      showError(`Could not sign in again as ${myName}: ${text}`);
      setTimeout(login, 2000);
    } else {
      ui.loginError.textContent = text;
      wantedName = null;
    }
    return;
  }
  const again = myName !== null;
  myName = myName || wantedName;
  wantedName = null;
  iceServers = Array.isArray(message.iceServers) ? message.iceServers : [];
  resumeToken = typeof message.resume === 'string' ? message.resume : null;
  ui.loginError.textContent = '';
  if (again)
    showError('');
  if (!pc && !incomingOffer)
    setState('idle');
  if (message.protocol >= 2)
    send({ type: 'presence' });
  if (!mediaReady)
    mediaReady = askForMedia();
}

async function askForMedia() {
  try {
    localStream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    ui.localVideo.srcObject = localStream;
  } catch (error) {
    localStream = null;
    ui.mediaNote.textContent = 'No camera or microphone: you can watch and listen only.';
  }
}

function onPresence(message) {
  if (Array.isArray(message.users)) {
    online.clear();
    message.users.forEach((user) => online.add(user));
  }
  if (message.joined)
    online.add(message.joined);
  if (message.left)
    online.delete(message.left);
  renderUsers();
}

function renderUsers() {
  ui.users.replaceChildren();
  for (const user of [...online].sort()) {
    if (user === myName)
      continue;
    const item = document.createElement('li');
    item.dataset.user = user;
    item.textContent = user;
    item.title = `Call ${user}`;
    item.addEventListener('click', () => call(user));
    ui.users.append(item);
  }
}

// --- calls

function newPeerConnection() {
  const connection = new RTCPeerConnection({ iceServers });
  connection.onicecandidate = (event) => {
    if (!event.candidate)
      return; // the protocol has no end-of-candidates message
    const candidate = event.candidate.toJSON();
    if (descriptionSent)
      send({ type: 'candidate', name: peer, candidate });
    else
      localCandidates.push(candidate);
  };
  connection.ontrack = (event) => {
    // Peers that send no stream ids (webrtcbin) still get one picture.
    let stream = ui.remoteVideo.srcObject;
    if (!(stream instanceof MediaStream)) {
      stream = new MediaStream();
      ui.remoteVideo.srcObject = stream;
    }
    stream.addTrack(event.track);
  };
  connection.onconnectionstatechange = () => {
    if (connection === pc && connection.connectionState === 'failed') {
      showError(`The connection to ${peer} failed.`);
      send({ type: 'leave', name: peer });
      endCall();
    }
  };
  return connection;
}

// Our media, or receive-only transceivers for what we do not have.
function addMedia(connection) {
  const kinds = new Set();
  if (localStream) {
    for (const track of localStream.getTracks()) {
      connection.addTrack(track, localStream);
      kinds.add(track.kind);
    }
  }
  for (const kind of ['audio', 'video']) {
    if (!kinds.has(kind) && !connection.getTransceivers().some((t) => t.receiver.track.kind === kind))
      connection.addTransceiver(kind, { direction: 'recvonly' });
  }
}

function sendDescription(type) {
  send({ type, name: peer, [type]: pc.localDescription.toJSON() });
  descriptionSent = true;
  for (const candidate of localCandidates)
    send({ type: 'candidate', name: peer, candidate });
  localCandidates = [];
}

async function call(target) {
  target = (target || '').trim();
  if (!target)
    return showError('Type the name of the user to call.');
  if (target === myName)
    return showError('You cannot call yourself.');
  if (pc || incomingOffer)
    return showError('Hang up first.');
  showError('');
  peer = target;
  pc = newPeerConnection();
  setState('calling');
  try {
    await mediaReady; // a call placed while the camera prompt is open waits for the answer
    addMedia(pc);
    await pc.setLocalDescription(await pc.createOffer());
    sendDescription('offer');
  } catch (error) {
    showError(`Could not call ${target}: ${error.message}`);
    endCall();
  }
}

function onOffer(message) {
  if (pc && message.name === peer) {
    // The peer renegotiates within our call.
    answerOffer(message.offer);
    return;
  }
  if (pc || incomingOffer) {
    send({ type: 'leave', name: message.name, reason: 'busy' });
    return;
  }
  peer = message.name;
  incomingOffer = message.offer;
  remoteCandidates = [];
  ui.incomingCaller.textContent = peer;
  ui.incoming.hidden = false;
  setState('ringing');
}

async function accept() {
  if (!incomingOffer)
    return;
  const offer = incomingOffer;
  incomingOffer = null;
  ui.incoming.hidden = true;
  showError('');
  pc = newPeerConnection();
  setState('in-call');
  await answerOffer(offer);
}

async function answerOffer(offer) {
  const connection = pc;
  try {
    await connection.setRemoteDescription(offer);
    await flushRemoteCandidates();
    await mediaReady;
    // The offer made a sender per m-line, none with a track yet: addTrack
    // fills them in and makes them send.
    if (!connection.getSenders().some((sender) => sender.track))
      addMedia(connection);
    await connection.setLocalDescription(await connection.createAnswer());
    sendDescription('answer');
  } catch (error) {
    showError(`Could not answer ${peer}: ${error.message}`);
    send({ type: 'leave', name: peer });
    endCall();
  }
}

function decline() {
  if (!incomingOffer)
    return;
  send({ type: 'leave', name: peer, reason: 'rejected' });
  endCall();
}

async function onAnswer(message) {
  if (!pc || (message.name && message.name !== peer))
    return;
  try {
    await pc.setRemoteDescription(message.answer);
    await flushRemoteCandidates();
    setState('in-call');
  } catch (error) {
    showError(`${peer}'s answer was not usable: ${error.message}`);
    send({ type: 'leave', name: peer });
    endCall();
  }
}

async function onCandidate(message) {
  if (!peer || (message.name && message.name !== peer))
    return;
  // An empty candidate means the end of candidates: pass null, as the spec wants.
  const candidate = message.candidate && message.candidate.candidate ? message.candidate : null;
  if (!pc || !pc.remoteDescription) {
    remoteCandidates.push(candidate);
    return;
  }
  try {
    await pc.addIceCandidate(candidate);
  } catch (error) {
    console.warn('ignoring a candidate', error);
  }
}

async function flushRemoteCandidates() {
  const queued = remoteCandidates;
  remoteCandidates = [];
  for (const candidate of queued) {
    try {
      await pc.addIceCandidate(candidate);
    } catch (error) {
      console.warn('ignoring a candidate', error);
    }
  }
}

function onLeave(message) {
  if (!peer || (message.name && message.name !== peer))
    return;
  const who = peer;
  const wasRinging = !!incomingOffer;
  const calling = document.body.dataset.state === 'calling';
  endCall();
  if (wasRinging)
    showError(`${who} gave up calling.`);
  else if (message.reason === 'rejected')
    showError(`${who} declined the call.`);
  else if (message.reason === 'busy')
    showError(`${who} is in another call.`);
  else if (message.reason === 'gone')
    showError(`${who} left.`);
  else if (message.reason === 'failed')
    showError(`${who} could not take the call.`);
  else if (message.reason === 'missed')
    showError(`${who} did not answer.`);
  else
    showError(calling ? `${who} declined the call.` : `${who} hung up.`);
}

function onError(message) {
  // Candidates we sent just before a call was refused come back refused too:
  // that says nothing new, and must not hide the reason the call failed.
  if (message.code === 'not-in-call') {
    console.warn('server:', message.message);
    return;
  }
  const who = message.name || peer;
  let text = message.message || 'The server refused that.';
  if (message.code === 'unknown-user')
    text = `${who} is not online.`;
  else if (message.code === 'busy')
    text = `${who} is in another call.`;
  showError(text);
  // A refused offer ends our attempt; refusals of anything else change nothing.
  if (document.body.dataset.state === 'calling' && (!message.name || message.name === peer))
    endCall();
}

function hangUp() {
  if (!peer)
    return;
  send({ type: 'leave', name: peer });
  endCall();
  showError('');
}

// Back to idle, ready for the next call with a new peer connection.
function endCall() {
  if (pc) {
    pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = null;
    pc.close();
  }
  pc = null;
  peer = null;
  incomingOffer = null;
  remoteCandidates = [];
  localCandidates = [];
  descriptionSent = false;
  ui.incoming.hidden = true;
  ui.remoteVideo.srcObject = null;
  if (myName)
    setState('idle');
}

// --- the page

ui.loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = ui.usernameInput.value.trim();
  if (!name) {
    ui.loginError.textContent = 'Enter a user name.';
    return;
  }
  ui.loginError.textContent = '';
  wantedName = name;
  if (socket && socket.readyState === WebSocket.OPEN)
    send({ type: 'login', name });
  else
    ui.loginError.textContent = 'Waiting for the server…';
});
ui.callForm.addEventListener('submit', (event) => {
  event.preventDefault();
  call(ui.callToUsernameInput.value);
});
ui.hangUpBtn.addEventListener('click', hangUp);
ui.acceptBtn.addEventListener('click', accept);
ui.declineBtn.addEventListener('click', decline);
window.addEventListener('beforeunload', () => hangUp());

setState('login');
setConnection('reconnecting');
connect();
