// Initiates replica set rs0 with the StatefulSet's members once each answers; a no-op when
// the set already exists. Run by the mongodb-init-replica-set Job.
const namespace = process.env.POD_NAMESPACE;
const members = [0, 1, 2].map((i) => `mongodb-${i}.mongodb.${namespace}.svc:27017`);

function waitFor(host) {
  for (let attempt = 1; attempt <= 120; attempt++) {
    try {
      const conn = new Mongo(`mongodb://${host}/?directConnection=true`);
      if (conn.getDB("admin").runCommand({ ping: 1 }).ok) {
        return conn;
      }
    } catch (e) {
      print(`waiting for ${host} (${attempt}): ${e.message}`);
    }
    sleep(2000);
  }
  throw new Error(`${host} did not answer`);
}

members.forEach(waitFor);
const admin = waitFor(members[0]).getDB("admin");
const hello = admin.runCommand({ hello: 1 });
if (hello.setName) {
  print(`replica set ${hello.setName} already initiated`);
} else {
  const result = admin.runCommand({
    replSetInitiate: { _id: "rs0", members: members.map((host, i) => ({ _id: i, host })) },
  });
  if (!result.ok && result.codeName !== "AlreadyInitialized") {
    throw new Error(`replSetInitiate failed: ${JSON.stringify(result)}`);
  }
  print("replica set rs0 initiated");
}
