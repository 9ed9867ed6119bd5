OPS = {}
class OnnxModel: pass
def load(p): raise NotImplementedError
