// Initiates replica set rs0 with the StatefulSet's members once each answers (a no-op when the
// set exists), then creates or updates one user per service, with readWrite on its own database
// "stint_<service>" only. Credentials come from Secrets mounted under /secrets (the root user,
// "mongodb-admin"; each service's "<service>-mongodb"). Run by the mongodb-init Job; re-running
// it updates the passwords (that is how they are rotated).
const fs = require("fs");
const namespace = process.env.POD_NAMESPACE;
const members = [0, 1, 2].map((i) => `mongodb-${i}.mongodb.${namespace}.svc:27017`);
const read = (path) => fs.readFileSync(path, "utf8").trim();
const admin = { user: read("/secrets/admin/username"), pwd: read("/secrets/admin/password") };
const credentials = `${encodeURIComponent(admin.user)}:${encodeURIComponent(admin.pwd)}`;

function connect(url) {
  for (let attempt = 1; attempt <= 120; attempt++) {
    try {
      const conn = new Mongo(url);
      const db = conn.getDB("admin");
      if (db.runCommand({ ping: 1 }).ok) {
        return conn;
      }
    } catch (e) {
      print(`waiting for ${url.replace(credentials, "***")} (${attempt}): ${e.message}`);
    }
    sleep(2000);
  }
  throw new Error(`${url.replace(credentials, "***")} did not answer`);
}

const direct = (host) =>
  `mongodb://${credentials}@${host}/?directConnection=true&authSource=admin`;
members.forEach((host) => connect(direct(host)));
const first = connect(direct(members[0])).getDB("admin");
const hello = first.runCommand({ hello: 1 });
if (hello.setName) {
  print(`replica set ${hello.setName} already initiated`);
} else {
  const result = first.runCommand({
    replSetInitiate: { _id: "rs0", members: members.map((host, i) => ({ _id: i, host })) },
  });
  if (!result.ok && result.codeName !== "AlreadyInitialized") {
    throw new Error(`replSetInitiate failed: ${JSON.stringify(result)}`);
  }
  print("replica set rs0 initiated");
}

const set = connect(
  `mongodb://${credentials}@${members.join(",")}/?replicaSet=rs0&authSource=admin`
);
for (let attempt = 1; !set.getDB("admin").runCommand({ hello: 1 }).isWritablePrimary; attempt++) {
  if (attempt > 120) throw new Error("no primary");
  sleep(2000);
}
for (const service of fs.readdirSync("/secrets/services").sort()) {
  const user = read(`/secrets/services/${service}/username`);
  const pwd = read(`/secrets/services/${service}/password`);
  const db = set.getDB(`stint_${service}`);
  const roles = [{ role: "readWrite", db: `stint_${service}` }];
  if (db.getUser(user)) {
    db.updateUser(user, { pwd, roles });
    print(`user ${user} updated (database stint_${service})`);
  } else {
    db.createUser({ user, pwd, roles });
    print(`user ${user} created (database stint_${service})`);
  }
}
