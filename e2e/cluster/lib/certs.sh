# Certificates, service-account keys and kubeconfigs of the e2e control plane (sourced).
# Everything is made with openssl in $1 (the state folder's pki/); nothing leaves the machine.

# make_pki <dir>: a CA, the API server's serving cert (127.0.0.1 + in-cluster names),
# the service-account key pair, and one client cert per identity.
make_pki() {
  local dir=$1
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=cdk8s-canary-e2e-ca' \
      -keyout ca.key -out ca.crt 2>/dev/null
    cat > apiserver.ext <<'EXT'
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth
EXT
    sign apiserver '/CN=kube-apiserver' apiserver.ext
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    # system:masters skips RBAC: used by the harness itself, kwok and Flagger (cluster-admin in a real install anyway).
    sign admin '/O=system:masters/CN=cdk8s-canary-e2e-admin' client.ext
    # The controller manager and scheduler run as their own users so RBAC's bootstrap roles are exercised.
    sign controller-manager '/CN=system:kube-controller-manager' client.ext
    sign scheduler '/CN=system:kube-scheduler' client.ext
    # The aggregator's identity towards extension API servers (front proxy).
    sign front-proxy-client '/CN=front-proxy-client' client.ext
  )
}

# sign <name> <subject> <extfile>: key + CA-signed cert, in the current folder.
sign() {
  openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$3" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr"
}

# make_kubeconfig <pki dir> <identity> <server url> <out file>
make_kubeconfig() {
  local pki=$1 who=$2 server=$3 out=$4
  cat > "$out" <<KC
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: $server
    certificate-authority: $pki/ca.crt
users:
- name: $who
  user:
    client-certificate: $pki/$who.crt
    client-key: $pki/$who.key
contexts:
- name: e2e
  context: {cluster: e2e, user: $who}
current-context: e2e
KC
}
